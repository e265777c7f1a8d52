import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  createTransport,
  type MailMessage,
  type SentMessageInfo,
  type Transport,
  type Transporter,
} from 'nodemailer';

export interface MailTransportOptions {
  /** `smtp://user:pass@host:587` or `smtps://...:465` (config `SMTP_URL`); unset: a folder. */
  smtpUrl?: string;
  /** Where messages are written when there is no SMTP server (e.g. `.data/mail`). */
  mailDir: string;
}

/**
 * How long each step of an SMTP conversation may take. nodemailer's defaults (2 minutes to
 * connect, 10 minutes of silence) would let a dead server hold a mail worker's pass, and the
 * lease on the row it is sending, for minutes; these fail it fast and the row is retried.
 */
const SMTP_TIMEOUTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 10_000,
  dnsTimeout: 10_000,
} as const;

/**
 * The transport the mail worker sends through: SMTP when `smtpUrl` is set, otherwise a
 * mailbox folder where each message is one `.eml` file (open it with any mail client), so
 * that development and the embedded default need no mail server. `describe` says which, for
 * the start-up log (no credentials in it).
 */
export function createMailTransport(options: MailTransportOptions): {
  transport: Transporter;
  describe: string;
} {
  if (options.smtpUrl) {
    const url = parseSmtpUrl(options.smtpUrl);
    // One connection per message (no pool): a pooled connection that died in between would
    // fail a message for nothing, and mail volume is a few messages a second at most. Keys
    // the URL sets itself (`?pool=true`, a timeout) win over these.
    const transport = createTransport({ ...SMTP_TIMEOUTS, pool: false, url: options.smtpUrl });
    return { transport, describe: `SMTP ${url.protocol}//${url.host}` };
  }
  const dir = resolve(options.mailDir);
  return {
    transport: createTransport(new MailboxFolderTransport(dir)),
    describe: `mailbox folder ${dir}`,
  };
}

function parseSmtpUrl(smtpUrl: string): URL {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw new Error('SMTP_URL is not a URL (expected smtp://user:pass@host:port)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new Error(`SMTP_URL must be smtp:// or smtps://, not ${url.protocol}//`);
  }
  return url;
}

/**
 * A nodemailer transport that "delivers" into a folder: one RFC 5322 file per message, named
 * by the time it was written and its Message-ID, so a folder sorts by time and a resent
 * message is recognisable by name. The file is written under a temporary name, flushed to
 * disk, then renamed: a reader (a test, a mail client watching the folder) sees a whole
 * message or none, and a message reported delivered survives a crash.
 */
export class MailboxFolderTransport implements Transport<SentMessageInfo> {
  readonly name = 'MailboxFolder';
  readonly version = '1.0.0';

  constructor(readonly dir: string) {}

  send(
    mail: MailMessage<SentMessageInfo>,
    callback: (err: Error | null, info?: SentMessageInfo) => void,
  ): void {
    this.write(mail).then(
      (info) => callback(null, info),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private async write(mail: MailMessage<SentMessageInfo>): Promise<SentMessageInfo> {
    const envelope = mail.message.getEnvelope();
    const messageId = mail.message.messageId();
    const content = await mail.message.build();
    await mkdir(this.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
    const name = `${stamp}-${fileSafe(messageId)}.eml`;
    const path = join(this.dir, name);
    // A dot name with another suffix: not listed as a message while it is being written.
    const temp = join(this.dir, `.${name}.${process.pid}.tmp`);
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(content);
      await file.sync();
    } catch (err) {
      await file.close();
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await file.close();
    await rename(temp, path);
    return {
      envelope,
      messageId,
      accepted: envelope.to,
      rejected: [],
      response: `250 written to ${path}`,
      path,
    };
  }
}

/** A Message-ID as part of a file name: `<mail-1@moviehub>` → `mail-1@moviehub`. */
function fileSafe(messageId: string): string {
  return (
    messageId
      .replace(/^<|>$/g, '')
      .replace(/[^A-Za-z0-9@._-]/g, '_')
      .slice(0, 150) || 'message'
  );
}
