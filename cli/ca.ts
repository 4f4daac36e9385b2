// `ambientctl ca`: the mesh's certificate authority from the operator's side. Create a
// root, issue an intermediate for a plug-in CA (the operator's root signs, the controller
// signs with the intermediate), mint a workload certificate for debugging, and inspect
// any PEM file.
import { Command, Option } from 'commander';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDuration } from '../core/duration.js';
import { CA_FILES, CertificateAuthority } from '../core/identity/ca.js';
import { formatSpiffeId, parseSpiffeId } from '../core/identity/spiffe.js';
import { certificateInfo, createCsr, generateKeyPem, splitPem } from '../core/identity/x509.js';
import { ErrorCodes, MeshError } from '../core/errors.js';
import { OUTPUT_FORMATS, render, type OutputFormat } from './output.js';

/** `--ttl`: `90s`, `24h`, `365d`, `1d12h`; at least a second (a certificate valid for no time
 * is a mistake); refused as AMB_CERT_INVALID (docs/errors.md). */
const readTtl = (text: string): number =>
  parseDuration('--ttl', text, { units: ['s', 'm', 'h', 'd'], min: 1000, error: (flag, why) => new MeshError(ErrorCodes.CERT_INVALID, `${flag}: ${why}`) });

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table');

export function caCommand(): Command {
  const ca = new Command('ca').description('the mesh certificate authority: roots, plug-in intermediates, workload certificates');

  ca.command('init')
    .description(`create a self-signed root CA in DIR (${Object.values(CA_FILES).join(', ')})`)
    .requiredOption('--dir <dir>', 'where to write the CA files')
    .option('--trust-domain <td>', 'SPIFFE trust domain', 'cluster.local')
    .option('--ttl <duration>', 'root lifetime', '3650d')
    .action(async (o: { dir: string; trustDomain: string; ttl: string }) => {
      const root = await CertificateAuthority.createSelfSigned({ trustDomain: o.trustDomain, rootTtlMs: readTtl(o.ttl) });
      await root.save(o.dir);
      const info = certificateInfo(root.signingCertificate);
      process.stdout.write(`root CA for ${o.trustDomain} written to ${o.dir} (serial ${info.serial}, expires ${info.notAfter.toISOString()})\n`);
    });

  ca.command('intermediate')
    .description('issue an intermediate CA signed by the root in --root-dir, for the controller to sign with (plug-in CA)')
    .requiredOption('--root-dir <dir>', 'the root CA directory')
    .requiredOption('--out <dir>', 'where to write the intermediate CA files')
    .option('--trust-domain <td>', 'SPIFFE trust domain', 'cluster.local')
    .option('--ttl <duration>', 'intermediate lifetime', '365d')
    .option('--name <cn>', 'common name', 'Ambient Mesh Intermediate CA')
    .action(async (o: { rootDir: string; out: string; trustDomain: string; ttl: string; name: string }) => {
      const root = await CertificateAuthority.load(o.rootDir, { trustDomain: o.trustDomain });
      const material = await root.issueIntermediate({ commonName: o.name, ttlMs: readTtl(o.ttl) });
      const inter = CertificateAuthority.fromMaterial(material, { trustDomain: o.trustDomain });
      await inter.save(o.out);
      process.stdout.write(`intermediate CA written to ${o.out}; give it to the controller as its CA directory or Secret\n`);
    });

  ca.command('issue')
    .description('issue a workload certificate for a SPIFFE ID (for debugging with curl, openssl or nghttp)')
    .requiredOption('--dir <dir>', 'the CA directory to sign with')
    .requiredOption('--identity <spiffe-id>', 'spiffe://<trust-domain>/ns/<ns>/sa/<sa>')
    .requiredOption('--out <dir>', 'where to write key.pem, cert-chain.pem and root-cert.pem')
    .option('--ttl <duration>', 'certificate lifetime', '24h')
    .action(async (o: { dir: string; identity: string; out: string; ttl: string }) => {
      const identity = parseSpiffeId(o.identity);
      const authority = await CertificateAuthority.load(o.dir, { trustDomain: identity.trustDomain });
      const key = await generateKeyPem();
      const issued = authority.sign(createCsr(key, identity), { identity, ttlMs: readTtl(o.ttl) });
      await mkdir(o.out, { recursive: true });
      await writeFile(join(o.out, 'key.pem'), key, { mode: 0o600 });
      await writeFile(join(o.out, 'cert-chain.pem'), issued.chain.join(''));
      await writeFile(join(o.out, 'root-cert.pem'), issued.roots.join(''));
      process.stdout.write(`${formatSpiffeId(identity)}: serial ${issued.serial}, expires ${issued.notAfter.toISOString()}, written to ${o.out}\n`);
    });

  ca.command('inspect')
    .description('show the certificates in a PEM file: identity, issuer, validity')
    .argument('<file>', 'PEM file with one or more certificates')
    .addOption(outputOption())
    .action(async (file: string, o: { output: OutputFormat }) => {
      const pems = splitPem(await readFile(file, 'utf8'));
      if (pems.length === 0) throw new MeshError(ErrorCodes.CERT_INVALID, `${file} holds no PEM certificate`);
      const rows = pems.map(certificateInfo);
      process.stdout.write(
        render(rows, [
          { header: 'identity', value: (r) => r.uris.join(',') || (r.isCA ? '(CA)' : '(none)') },
          { header: 'subject', value: (r) => r.subject.replace(/\n/g, ', ') },
          { header: 'serial', value: (r) => r.serial },
          { header: 'not after', value: (r) => r.notAfter.toISOString() },
          { header: 'ca', value: (r) => String(r.isCA) },
        ], o.output),
      );
    });
  return ca;
}
