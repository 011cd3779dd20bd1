import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The name (and SAN) in the server's certificate. */
  serverName: string;
}

/**
 * A throwaway CA, a server certificate for localhost/127.0.0.1 and a client certificate, made
 * with openssl for one test run (P-256 keys: quick to generate, accepted by Go and rustls).
 */
export async function generateTestCertificates(dir: string): Promise<TestCertificates> {
  await mkdir(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=billflow test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const issue = async (name: string, subject: string, extensions: string) => {
    await run('openssl', ['req', ...ecKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject]);
    await writeFile(file(`${name}.ext`), extensions);
    await run('openssl', ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${name}.pem`), '-days', '2', '-extfile', file(`${name}.ext`)]);
  };
  const serverName = 'localhost';
  // The server's certificate also serves its own internal clients: both usages.
  await issue('server', `/CN=${serverName}`, `subjectAltName=DNS:${serverName},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n`);
  await issue('client', '/CN=billflow worker', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  return {
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client.key'),
    serverName,
  };
}
