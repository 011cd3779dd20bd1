import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import {
  describeTemporalConnection,
  readTemporalConnectionSettings,
  temporalConnectionOptions,
  TemporalConnectionError,
} from '../../src/temporal/connection';

const scratch = mkdtempSync(path.join(tmpdir(), 'billflow-envconfig-'));
/** No profile file unless a test names one: the developer's own ~/.config/temporalio is never read. */
const isolated = { HOME: scratch, XDG_CONFIG_HOME: path.join(scratch, 'config') };

function configFile(name: string, text: string): string {
  const file = path.join(scratch, name);
  writeFileSync(file, text);
  return file;
}

describe("the Temporal connection, from Temporal's environment configuration", () => {
  it('defaults to a local plaintext server and the default namespace', () => {
    const settings = readTemporalConnectionSettings(isolated);
    expect(settings).toEqual({ address: 'localhost:7233', namespace: 'default' });
    expect(temporalConnectionOptions(settings)).toEqual({ address: 'localhost:7233' });
  });

  it('keeps TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, and an empty variable means unset', () => {
    const config = loadConfig({ ...isolated, TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'billing', TEMPORAL_API_KEY: '' });
    expect(config.temporal).toMatchObject({ address: 'temporal.internal:7233', namespace: 'billing', taskQueue: 'billflow' });
    expect(config.temporal.apiKey).toBeUndefined();
  });

  it('turns TLS on with an API key, as the temporal CLI does, unless TEMPORAL_TLS=false', () => {
    const cloud = readTemporalConnectionSettings({ ...isolated, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key-123' });
    expect(temporalConnectionOptions(cloud)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'key-123', tls: true });
    const plaintext = readTemporalConnectionSettings({ ...isolated, TEMPORAL_API_KEY: 'key-123', TEMPORAL_TLS: 'false' });
    expect(temporalConnectionOptions(plaintext).tls).toBeUndefined();
  });

  it('loads a config whose certificates are the PEMs themselves (TEMPORAL_TLS_*_DATA, as docker-compose passes them)', () => {
    const config = loadConfig({ ...isolated, TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT', TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY', TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'CA', TEMPORAL_TLS: '' });
    const { tls } = temporalConnectionOptions(config.temporal);
    const { clientCertPair, serverRootCACertificate } = tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array }; serverRootCACertificate: Uint8Array };
    expect([clientCertPair.crt, clientCertPair.key, serverRootCACertificate].map((bytes) => Buffer.from(bytes).toString())).toEqual(['CERT', 'KEY', 'CA']);
    expect(Object.isFrozen(config.temporal)).toBe(true);
  });

  it('reads the client certificate, key and CA the TEMPORAL_TLS_* variables name', () => {
    const cert = configFile('client.pem', 'CERT');
    const key = configFile('client.key', 'KEY');
    const settings = readTemporalConnectionSettings({
      ...isolated,
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'CA',
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const { tls } = temporalConnectionOptions(settings);
    expect(tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
    const { clientCertPair, serverRootCACertificate } = tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array }; serverRootCACertificate: Uint8Array };
    expect(Buffer.from(clientCertPair.crt).toString()).toBe('CERT');
    expect(Buffer.from(clientCertPair.key).toString()).toBe('KEY');
    expect(Buffer.from(serverRootCACertificate).toString()).toBe('CA');
    expect(describeTemporalConnection(settings)).toBe('localhost:7233, namespace default, TLS with a client certificate');
  });

  it('reads the profile TEMPORAL_PROFILE names from the temporal.toml file, variables overriding it', () => {
    const file = configFile(
      'temporal.toml',
      ['[profile.default]', 'address = "localhost:7233"', '', '[profile.prod]', 'address = "prod.example:7233"', 'namespace = "billing"', 'api_key = "from-file"', '[profile.prod.grpc_meta]', 'x-tenant = "acme"'].join('\n'),
    );
    const prod = readTemporalConnectionSettings({ ...isolated, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'billing-eu' });
    expect(prod).toEqual({ address: 'prod.example:7233', namespace: 'billing-eu', profile: 'prod', apiKey: 'from-file', grpcMeta: { 'x-tenant': 'acme' } });
    expect(temporalConnectionOptions(prod)).toMatchObject({ metadata: { 'x-tenant': 'acme' }, tls: true });
    // The default location, as the CLI looks for it.
    const home = path.join(scratch, 'home');
    const defaultFile = path.join(home, '.config', 'temporalio', 'temporal.toml');
    mkdirSync(path.dirname(defaultFile), { recursive: true });
    writeFileSync(defaultFile, '[profile.default]\naddress = "from-home:7233"\n');
    expect(readTemporalConnectionSettings({ HOME: home }).address).toBe('from-home:7233');
  });

  it('names the problem, never a secret, when the configuration is wrong', () => {
    const broken = configFile('broken.toml', '[profile.default]\napi_key = "sk-very-secret\n');
    const problems = (() => {
      try {
        loadConfig({ ...isolated, TEMPORAL_CONFIG_FILE: broken, TEMPORAL_TLS: 'yes' });
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
    })();
    expect(problems.join('\n')).toContain('TEMPORAL_TLS: must be true, false, 1 or 0');
    expect(() => loadConfig({ ...isolated, TEMPORAL_CONFIG_FILE: broken })).toThrow(/TEMPORAL_CONFIG_FILE .*not valid TOML/);
    expect(() => loadConfig({ ...isolated, TEMPORAL_CONFIG_FILE: broken })).not.toThrow(/sk-very-secret/);
    expect(() => loadConfig({ ...isolated, TEMPORAL_PROFILE: 'missing' })).toThrow(/Profile 'missing' not found/);
    expect(() => loadConfig({ ...isolated, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toThrow(/TEMPORAL_TLS_SERVER_NAME/);
    const halfPair = readTemporalConnectionSettings({ ...isolated, TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT' });
    expect(() => temporalConnectionOptions(halfPair)).toThrow(/TEMPORAL_TLS_CLIENT_CERT_\* and TEMPORAL_TLS_CLIENT_KEY_\* together/);
    const missingFile = readTemporalConnectionSettings({ ...isolated, TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(scratch, 'nope.pem') });
    expect(() => temporalConnectionOptions(missingFile)).toThrow(/Could not read the TLS files/);
  });

  it('explains refused credentials and failed handshakes without echoing the key', () => {
    const withKey = readTemporalConnectionSettings({ ...isolated, TEMPORAL_API_KEY: 'sk-very-secret' });
    const refused = new TemporalConnectionError(withKey, Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 }));
    expect(refused.message).toMatch(/refused the API key \(TEMPORAL_API_KEY\)/);
    expect(refused.message).toContain('TLS, API key');
    expect(refused.message).not.toContain('sk-very-secret');
    const withoutCert = readTemporalConnectionSettings({ ...isolated, TEMPORAL_TLS: 'true' });
    const handshake = new TemporalConnectionError(withoutCert, new Error('transport error: tls handshake eof'));
    expect(handshake.message).toMatch(/set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/);
    // With TLS 1.3 the server's refusal of a missing client certificate can come after the client
    // saw the handshake through: the SDK then reports a connection cut short, not a handshake.
    const cutShort = new Error(
      "Failed to call GetSystemInfo: code: 'The operation was cancelled', message: \"operation was canceled\", source: tonic::transport::Error(Transport, hyper::Error(Canceled, \"connection was not ready\"))",
    );
    expect(new TemporalConnectionError(withoutCert, cutShort).message).toMatch(/requires client certificates \(mTLS\), set TEMPORAL_TLS_CLIENT_CERT_PATH/);
    const closed = new Error(cutShort.message.replace('connection was not ready', 'connection closed'));
    expect(new TemporalConnectionError(withoutCert, closed).message).toMatch(/requires client certificates \(mTLS\), set TEMPORAL_TLS_CLIENT_CERT_PATH/);
    // A server that is not there is not a TLS problem.
    const refusedConnection = new Error('tonic::transport::Error(Transport, ConnectError("tcp connect error", Os { code: 111, kind: ConnectionRefused, message: "Connection refused" }))');
    expect(new TemporalConnectionError(withoutCert, refusedConnection).message).not.toMatch(/TEMPORAL_TLS_CLIENT_CERT_PATH/);
  });
});
