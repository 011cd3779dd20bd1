# syntax=docker/dockerfile:1
#
# One image for both billflow processes:
#   docker build -t billflow .
#   docker run -p 3000:3000 --env-file billflow.env billflow          # webhook receiver (default)
#   docker run --env-file billflow.env billflow worker                 # Temporal worker
# docker-compose.yml runs both, with PostgreSQL and Temporal; see docs/docker-compose.md.
#
# The build stage compiles the TypeScript (tsc) and bundles the workflows once (bundleWorkflowCode);
# the image holds that JavaScript and the production dependencies only: no TypeScript loader at run
# time, no webpack when the worker starts, and none of the development and test stand-ins (provider
# sandbox, test webhooks and their signers, `dev`, `trigger`, the dev server and the CLI build).

# Node 20 (package.json: engines.node >= 20.19) on Debian bookworm, glibc: the prebuilt native
# modules of @temporalio/core-bridge, @swc/core and esbuild install from npm as they are, no
# compiler needed. Override with --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:… to pin a digest.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle-workflows.js ./scripts/
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build
# Development and test stand-ins, left out of the image; `dev` and `trigger` say so when run.
RUN rm -rf dist/src/testing dist/src/providers/*/testing dist/src/temporal/histories.* \
    dist/src/cli/dev.* dist/src/cli/trigger.* dist/src/temporal/dev-server.* dist/src/temporal/cli-binary.* dist/src/go-tool.*

FROM ${NODE_IMAGE}

ENV NODE_ENV=production \
    PORT=3000 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first: a change to the sources alone reuses this layer.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY --from=build /app/dist ./dist

# The files stay owned by root, so the process (user `node`, uid 1000, from the base image) can
# read but not change them.
USER node

EXPOSE 3000

# Receiver liveness, with node itself (the slim image has no curl or wget). The worker serves no
# HTTP: docker-compose.yml gives the worker service its own healthcheck instead of this one.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.PORT||3000,path:'/healthz',timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["receiver"]
