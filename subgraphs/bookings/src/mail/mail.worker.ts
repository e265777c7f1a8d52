import type { SendMailOptions, Transporter } from 'nodemailer';
import type { DataSource } from 'typeorm';
import type { UserContact } from '../../../../runtime/contracts/user-contacts';
import { describeError, toError } from '../../../../runtime/events/event';
import type { Logger } from '../../../../runtime/logger';
import { Booking, BookingStatus } from '../booking/booking.entity';
import { Refund, RefundKind } from '../refund/refund.entity';
import { changedRows } from '../sql';
import type { TicketService } from '../ticket/ticket.service';
import type { UsersClient } from '../users/users.client';
import { REFUND_REQUIRED, type MailKind } from './mail-outbox';
import { oneLine, renderMail, type MailData } from './mail-templates';

export interface MailWorkerOptions {
  dataSource: DataSource;
  transport: Transporter;
  users: UsersClient;
  tickets: TicketService;
  /** The From header (config `MAIL_FROM`). */
  from: string;
  /** The web front end the emails link to (config `FRONTEND_URL`). */
  frontendUrl: string;
  log: Logger;
  /** Default: the real time. Tests pass a clock they move. */
  clock?: () => Date;
  /** How often the outbox is checked when nothing calls `notify()`, ms. Default 2000. */
  pollMs?: number;
  /**
   * How long to wait after the `attempt`-th failed send (1, 2, ...) before the next, ms.
   * Default {@link defaultMailBackoff}: 5 s doubling, at most 15 minutes, with jitter.
   */
  backoff?: (attempt: number) => number;
  /** Sends started before a message is given up (DEAD, logged as an error). Default 20. */
  maxAttempts?: number;
  /** Messages one pass sends at most. Default 20. */
  batchSize?: number;
}

export interface MailWorker {
  /** Asks for a pass now, e.g. right after a transaction that enqueued mail committed. */
  notify(): void;
  /** Runs one pass (after the one in progress, if any); resolves to how many were sent. */
  runOnce(): Promise<number>;
  /** Stops polling; resolves when the pass in progress (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * The default wait after the `attempt`-th failure: 5 s, 10 s, 20 s, ... at most 15 minutes,
 * each between 75% and 100% of that, so that the messages of one outage (and the instances
 * retrying them) do not all come back in the same second.
 */
export function defaultMailBackoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(15 * 60_000, 5_000 * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return Math.round(base * (0.75 + 0.25 * random()));
}

/**
 * How long a claimed message belongs to the worker that claimed it. Longer than everything a
 * send can take (the users call, 5 s; the SMTP send, {@link SEND_TIMEOUT_MS}), so that no
 * other instance takes it over while it is still being sent; short enough that a message
 * whose worker crashed goes out a few minutes late, not never.
 */
const LEASE_MS = 3 * 60_000;
/** The whole SMTP send, on top of the transport's own per-step timeouts. */
const SEND_TIMEOUT_MS = 60_000;
/** Between passes while users or the mail server is down, at most. */
const MAX_OUTAGE_DELAY_MS = 60_000;

/** An address nodemailer takes as exactly one recipient: no list, no display name, no spaces. */
const PLAIN_ADDRESS = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}$/;

interface ClaimedMail {
  id: string;
  kind: MailKind;
  user_id: string;
  booking_id: string | null;
  refund_id: string | null;
  /** After this claim: the claim's fencing token (only its holder may record a failure). */
  attempts: number;
  message_id: string;
}

interface PassResult {
  sent: number;
  /** Users or the mail server failed: wait longer before the next pass. */
  outage: boolean;
  /** The pass took a whole batch: more are probably due. */
  full: boolean;
}

/** The refund an email tells about when it names none. */
const REFUND_KIND_OF: Partial<Record<MailKind, RefundKind>> = {
  'booking-cancelled': RefundKind.POLICY,
  'late-payment-refunded': RefundKind.LATE_PAYMENT,
  'showtime-cancelled': RefundKind.SHOWTIME_CANCELLED,
};

type Outcome = 'sent' | 'skipped' | 'failed' | 'outage';

/** Why a message is not sent, and never will be: not an error, recorded as SKIPPED. */
class SkipMail extends Error {}

/**
 * Starts the mail worker of this instance: it sends what `enqueueMail` recorded, and keeps
 * trying until each message is sent, skipped or given up.
 *
 * A pass claims due rows one at a time, each with one statement (`FOR UPDATE SKIP LOCKED`,
 * so any number of instances split the work): the claim counts the attempt and pushes
 * `next_attempt_at` a lease ahead, and commits. No transaction stays open while the worker
 * loads the booking, asks users for the contact, renders and talks to the mail server;
 * then one UPDATE marks the row SENT. A worker that crashes in between leaves the row to be
 * claimed again when the lease ends.
 *
 * The one duplicate this cannot rule out: a crash (or a lost database) after the mail server
 * accepted the message and before the row is marked SENT sends it again after the lease,
 * with the same Message-ID (fixed when the row was written), by which the receiving side can
 * recognise the copy (many mail clients show one message per Message-ID). SMTP itself has no way to ask "did you get this
 * one?", so that window is only made as small as it can be: nothing but the marking UPDATE
 * (retried a few times) runs between the server's 250 and SENT.
 *
 * Failures: a send that fails counts against `maxAttempts` and is retried after `backoff`;
 * the last one turns the row DEAD (logged as an error). A user without an email address
 * (erased) or unknown to users: SKIPPED. Users being down is not the message's fault: the
 * attempt is handed back uncounted and retried later, so an outage of our own users service,
 * however long, never gives up a confirmation (a misconfiguration shows as warnings in the
 * log and as `last_error`). Passes slow down while users or the mail server fail.
 */
export function startMailWorker(options: MailWorkerOptions): MailWorker {
  const worker = new MailWorkerLoop(options);
  worker.start();
  return worker;
}

class MailWorkerLoop implements MailWorker {
  private readonly clock: () => Date;
  private readonly pollMs: number;
  private readonly backoff: (attempt: number) => number;
  private readonly maxAttempts: number;
  private readonly batchSize: number;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Passes run one after another in an instance, whether the loop or `runOnce` asked. */
  private passes: Promise<unknown> = Promise.resolve();
  private notified = false;
  private wake: (() => void) | undefined;
  /** Users failures in a row: how long a message handed back waits. */
  private usersFailures = 0;

  constructor(private readonly o: MailWorkerOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.pollMs = o.pollMs ?? 2000;
    this.backoff = o.backoff ?? ((attempt) => defaultMailBackoff(attempt));
    this.maxAttempts = o.maxAttempts ?? 20;
    this.batchSize = o.batchSize ?? 20;
    for (const [name, value] of [
      ['maxAttempts', this.maxAttempts],
      ['batchSize', this.batchSize],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a positive integer, got ${value}`);
      }
    }
    if (!(this.pollMs > 0)) throw new Error(`pollMs must be positive, got ${this.pollMs}`);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  async runOnce(): Promise<number> {
    return (await this.serialized()).sent;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.passes.catch(() => undefined);
  }

  private serialized(): Promise<PassResult> {
    const pass = this.passes.then(() => this.pass());
    this.passes = pass.catch(() => undefined);
    return pass;
  }

  private async run(): Promise<void> {
    let outages = 0;
    while (this.running) {
      this.notified = false;
      let result: PassResult;
      try {
        result = await this.serialized();
      } catch (err) {
        // The database failed: whatever was claimed comes back after its lease.
        this.o.log.error({ err }, 'mail worker: pass failed');
        result = { sent: 0, outage: true, full: false };
      }
      if (!this.running) break;
      outages = result.outage ? outages + 1 : 0;
      if (!result.outage && (result.full || this.notified)) continue;
      await this.sleep(
        result.outage
          ? Math.min(MAX_OUTAGE_DELAY_MS, this.pollMs * 2 ** Math.min(outages, 10))
          : this.pollMs,
      );
    }
  }

  private async pass(): Promise<PassResult> {
    await this.buryAbandoned();
    let sent = 0;
    let claimed = 0;
    while (claimed < this.batchSize) {
      const mail = await this.claim();
      if (!mail) break;
      claimed += 1;
      const outcome = await this.deliver(mail);
      if (outcome === 'sent') sent += 1;
      // The next message would most likely fail the same way: leave it for a later pass.
      if (outcome === 'outage') return { sent, outage: true, full: false };
    }
    return { sent, outage: false, full: claimed === this.batchSize };
  }

  /** Takes the most overdue message and leases it to this worker; null when none is due. */
  private async claim(): Promise<ClaimedMail | null> {
    const now = this.clock();
    const [row] = await changedRows<ClaimedMail>(
      this.o.dataSource,
      `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $2
        WHERE id = (SELECT id FROM mail_outbox
                     WHERE status = 'PENDING' AND next_attempt_at <= $1 AND attempts < $3
                     ORDER BY next_attempt_at, created_at
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, user_id, booking_id, refund_id, attempts, message_id`,
      [now, new Date(now.getTime() + LEASE_MS), this.maxAttempts],
    );
    return row ?? null;
  }

  /**
   * Messages whose last attempt was claimed but never finished (the worker died) and whose
   * lease has run out: nothing will try them again.
   */
  private async buryAbandoned(): Promise<void> {
    const dead = await changedRows<{ id: string; kind: string; attempts: number }>(
      this.o.dataSource,
      `UPDATE mail_outbox
          SET status = 'DEAD', last_error = coalesce(last_error || E'\\n', '') ||
              'The last attempt never finished (its worker stopped)'
        WHERE status = 'PENDING' AND attempts >= $2 AND next_attempt_at <= $1
        RETURNING id, kind, attempts`,
      [this.clock(), this.maxAttempts],
    );
    for (const row of dead) {
      this.o.log.error({ mailId: row.id, kind: row.kind }, 'mail worker: message given up');
    }
  }

  private async deliver(mail: ClaimedMail): Promise<Outcome> {
    let data: Omit<MailData, 'locale' | 'recipientName'>;
    try {
      data = await this.load(mail);
    } catch (err) {
      if (err instanceof SkipMail) return this.skip(mail, err.message);
      return this.fail(mail, err);
    }

    let contact: UserContact | undefined;
    try {
      [contact] = (await this.o.users.contacts([mail.user_id])).filter(
        (c) => c.id === mail.user_id,
      );
      this.usersFailures = 0;
    } catch (err) {
      return this.handBack(mail, err);
    }
    if (!contact?.email) {
      return this.skip(mail, contact ? 'The user has no email address' : 'Unknown user');
    }
    if (!PLAIN_ADDRESS.test(contact.email)) {
      return this.fail(mail, new Error('The user has a malformed email address'), true);
    }

    let message: SendMailOptions;
    try {
      const rendered = await renderMail({
        ...data,
        locale: contact.locale,
        recipientName: contact.name,
      });
      message = {
        from: this.o.from,
        to: { name: oneLine(contact.name) ?? '', address: contact.email },
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        attachments: rendered.attachments,
        messageId: mail.message_id,
        // RFC 3834: an automatic message; auto-responders should not answer it.
        headers: { 'Auto-Submitted': 'auto-generated' },
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      };
    } catch (err) {
      return this.fail(mail, err);
    }

    try {
      await this.o.transport.sendMail(message);
    } catch (err) {
      await this.fail(mail, err);
      return 'outage';
    }
    // From here to SENT is the window in which a crash sends the message twice.
    await this.markSent(mail);
    return 'sent';
  }

  /** What the email says, from the bookings database. */
  private async load(mail: ClaimedMail): Promise<Omit<MailData, 'locale' | 'recipientName'>> {
    if (!mail.booking_id) throw new Error('The mail names no booking');
    const manager = this.o.dataSource.manager;
    const booking = await manager.getRepository(Booking).findOneBy({ id: mail.booking_id });
    if (!booking) throw new Error(`Booking ${mail.booking_id} does not exist`);
    if (
      mail.kind === 'booking-confirmed' &&
      booking.status !== BookingStatus.CONFIRMED &&
      booking.status !== BookingStatus.COMPLETED
    ) {
      // Cancelled before its confirmation went out (a long mail outage): its tickets are void,
      // and the cancellation email tells the story.
      throw new SkipMail(`The booking is ${booking.status} now`);
    }
    const [tickets] = await this.o.tickets.ofBookings([booking.id]);
    const refunds = manager.getRepository(Refund);
    // A booking may have several refunds (its cancellation's, a late or a second payment's):
    // the one the mail names, else the one of the mail's kind.
    const kindOfRefund = REFUND_KIND_OF[mail.kind];
    const refund = mail.refund_id
      ? await refunds.findOneBy({ id: mail.refund_id, bookingId: booking.id })
      : kindOfRefund
        ? await refunds.findOne({
            where: { bookingId: booking.id, kind: kindOfRefund },
            order: { createdAt: 'DESC' },
          })
        : null;
    if (mail.refund_id && !refund) {
      throw new Error(`Refund ${mail.refund_id} of booking ${booking.id} does not exist`);
    }
    if (REFUND_REQUIRED.has(mail.kind) && !refund) throw new Error('The mail names no refund');
    return {
      kind: mail.kind,
      booking,
      tickets: tickets.map((t) => ({ ...t, qrPayload: this.o.tickets.payloadOf(t) })),
      refund: refund ? { amount: refund.amount, percent: refund.percent } : null,
      frontendUrl: this.o.frontendUrl,
    };
  }

  /**
   * Marks a sent message. The server has it already, so a failing database is retried a few
   * times at once rather than leaving the row to be sent again after its lease.
   */
  private async markSent(mail: ClaimedMail): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // Whatever happened to the row meanwhile (another instance took it over after the
        // lease and gave it up), it was sent: say so.
        await this.o.dataSource.query(
          `UPDATE mail_outbox SET status = 'SENT', sent_at = $2, last_error = NULL
            WHERE id = $1 AND status IN ('PENDING', 'DEAD')`,
          [mail.id, this.clock()],
        );
        this.o.log.info(
          { mailId: mail.id, kind: mail.kind, messageId: mail.message_id },
          'mail sent',
        );
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  private async skip(mail: ClaimedMail, reason: string): Promise<Outcome> {
    await this.o.dataSource.query(
      `UPDATE mail_outbox SET status = 'SKIPPED', last_error = $3
        WHERE id = $1 AND status = 'PENDING' AND attempts = $2`,
      [mail.id, mail.attempts, reason],
    );
    this.o.log.info({ mailId: mail.id, kind: mail.kind, reason }, 'mail skipped');
    return 'skipped';
  }

  /** A failed attempt: retried after the backoff, or given up after the last one. */
  private async fail(mail: ClaimedMail, thrown: unknown, permanent = false): Promise<Outcome> {
    const error = toError(thrown);
    const lastError = describeError(error, 2000);
    const dead = permanent || mail.attempts >= this.maxAttempts;
    const retryAt = new Date(this.clock().getTime() + Math.max(0, this.backoff(mail.attempts)));
    // `attempts = $2`: only the claim's holder records its outcome; after a lease ran out,
    // the row may be someone else's now.
    await this.o.dataSource.query(
      `UPDATE mail_outbox SET status = $3, next_attempt_at = $4, last_error = $5
        WHERE id = $1 AND status = 'PENDING' AND attempts = $2`,
      [mail.id, mail.attempts, dead ? 'DEAD' : 'PENDING', retryAt, lastError],
    );
    const fields = { err: error, mailId: mail.id, kind: mail.kind, attempts: mail.attempts };
    if (dead) this.o.log.error(fields, 'mail worker: message given up');
    else this.o.log.warn({ ...fields, retryAt }, 'mail worker: send failed; will retry');
    return 'failed';
  }

  /** Users could not answer: the claim is handed back without counting as an attempt. */
  private async handBack(mail: ClaimedMail, thrown: unknown): Promise<Outcome> {
    this.usersFailures += 1;
    const error = toError(thrown);
    // At most a minute: once users is back, the mail should not wait out a long backoff.
    const delay = Math.min(MAX_OUTAGE_DELAY_MS, Math.max(0, this.backoff(this.usersFailures)));
    const retryAt = new Date(this.clock().getTime() + delay);
    await this.o.dataSource.query(
      `UPDATE mail_outbox SET attempts = attempts - 1, next_attempt_at = $3, last_error = $4
        WHERE id = $1 AND status = 'PENDING' AND attempts = $2`,
      [mail.id, mail.attempts, retryAt, describeError(error, 2000)],
    );
    this.o.log.warn(
      { err: error, mailId: mail.id, retryAt },
      'mail worker: users unavailable; will retry',
    );
    return 'outage';
  }

  /** Waits `ms`, or less when `notify()` or `stop()` is called meanwhile. */
  private sleep(ms: number): Promise<void> {
    if (!this.running || this.notified) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
    });
  }
}
