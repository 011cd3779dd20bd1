import { z } from 'zod';

/**
 * Settings are declared once, as a tree whose leaves name the environment variable and what it
 * accepts; the type of the loaded settings is inferred from the same tree.
 */
export interface Setting<Schema extends z.ZodType = z.ZodType> {
  readonly variable: string;
  readonly schema: Schema;
}

export function setting<Schema extends z.ZodType>(variable: string, schema: Schema): Setting<Schema> {
  return { variable, schema };
}

export interface SettingsTree {
  readonly [key: string]: Setting | SettingsTree;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueOf<Node> = Node extends Setting<infer Schema> ? z.output<Schema> : Node extends SettingsTree ? SettingsOf<Node> : never;
type OptionalKeys<Tree> = { [K in keyof Tree]: undefined extends ValueOf<Tree[K]> ? K : never }[keyof Tree];

/** The loaded settings of a tree: a setting that may be unset is an optional property. */
export type SettingsOf<Tree extends SettingsTree> = Simplify<
  { -readonly [K in Exclude<keyof Tree, OptionalKeys<Tree>>]: ValueOf<Tree[K]> } & {
    -readonly [K in OptionalKeys<Tree>]?: Exclude<ValueOf<Tree[K]>, undefined>;
  }
>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const isSetting = (node: Setting | SettingsTree): node is Setting => node.schema instanceof z.ZodType && typeof node.variable === 'string';

/**
 * Reads every setting of `tree` from `environment`. An empty variable means "not set", as operators
 * expect from `FOO= npm run dev`. Throws one ConfigError naming every bad variable (never its value).
 */
export function readSettings<Tree extends SettingsTree>(tree: Tree, environment: Readonly<Record<string, string | undefined>>): SettingsOf<Tree> {
  const problems: string[] = [];
  const read = (node: SettingsTree): Record<string, unknown> => {
    const values: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      if (!isSetting(child)) {
        values[key] = read(child);
        continue;
      }
      const raw = environment[child.variable];
      const parsed = child.schema.safeParse(raw === '' ? undefined : raw);
      if (parsed.success) {
        if (parsed.data !== undefined) values[key] = parsed.data;
      } else {
        problems.push(...parsed.error.issues.map((issue) => `${child.variable}: ${issue.message}`));
      }
    }
    return values;
  };
  const settings = read(tree);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings as SettingsOf<Tree>;
}

/** Every environment variable a tree reads, in declaration order. */
export function settingVariables(tree: SettingsTree): string[] {
  return Object.values(tree).flatMap((node) => (isSetting(node) ? [node.variable] : settingVariables(node)));
}

/** Comma-separated values; several are accepted at once so a secret can be rotated without downtime. */
export const commaList = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((part) => part.trim()).filter(Boolean));
