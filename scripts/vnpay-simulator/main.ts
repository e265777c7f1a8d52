import { parseArgs } from 'node:util';
import { startVnpaySimulator, type VnpaySimulatorOptions } from './vnpay-simulator';

const USAGE = `usage: node dist/scripts/vnpay-simulator/main.js --tmn-code CODE --hash-secret SECRET \\
         --ipn-url http://localhost:4004/payments/vnpay/ipn [--port 0] [--host 127.0.0.1]
`;

/** The simulator's options from command-line flags, or the reason they are wrong. */
export function parseSimulatorArgs(
  argv: readonly string[],
): { options: VnpaySimulatorOptions } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        'tmn-code': { type: 'string' },
        'hash-secret': { type: 'string' },
        'ipn-url': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  const problems: string[] = [];
  const port = Number(values.port);
  if (!/^\d{1,5}$/.test(values.port) || port > 65535) problems.push('--port must be 0-65535');
  const tmnCode = values['tmn-code'];
  const hashSecret = values['hash-secret'];
  const ipnUrl = values['ipn-url'];
  if (!tmnCode) problems.push('--tmn-code is required');
  if (!hashSecret) problems.push('--hash-secret is required');
  if (!ipnUrl || !URL.canParse(ipnUrl)) problems.push('--ipn-url must be a URL');
  if (problems.length > 0 || !tmnCode || !hashSecret || !ipnUrl) {
    return { error: problems.join('; ') };
  }
  return { options: { port, host: values.host, tmnCode, hashSecret, ipnUrl } };
}

/**
 * A local VNPay for development: point VNPAY_PAY_URL and VNPAY_API_URL at what it prints, with
 * the same VNPAY_TMN_CODE and VNPAY_HASH_SECRET. Flags only (no environment).
 */
async function main(): Promise<void> {
  const parsed = parseSimulatorArgs(process.argv.slice(2));
  if ('error' in parsed) {
    process.stderr.write(`${parsed.error}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const simulator = await startVnpaySimulator({
    ...parsed.options,
    log: (msg) => process.stdout.write(`${msg}\n`),
  });
  process.stdout.write(`VNPAY_PAY_URL=${simulator.payUrl}\nVNPAY_API_URL=${simulator.apiUrl}\n`);
  const shutdown = () => {
    void simulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
