import jsQR from 'jsqr';
import { simpleParser, type ParsedMail } from 'mailparser';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import { PNG } from 'pngjs';
import { SMTPServer } from 'smtp-server';
import type { UserContact } from '../../../../runtime/contracts/user-contacts';
import { AppError } from '../../../../runtime/errors';
import { createLogger } from '../../../../runtime/logger';
import { HOUR, startEngineKit, type EngineKit } from '../../../../tests/e2e/booking-kit';
import { MailOutbox1733300000001 } from '../migrations/1733300000001-mail-outbox';
import { Ticket } from '../ticket/ticket.entity';
import type { UsersClient } from '../users/users.client';
import { enqueueMail, type MailRequest } from './mail-outbox';
import { createMailTransport } from './mail-transport';
import {
  defaultMailBackoff,
  startMailWorker,
  type MailWorker,
  type MailWorkerOptions,
} from './mail.worker';

/** An in-memory users subgraph: contacts by id, and a switch to make it unreachable. */
class FakeUsers implements UsersClient {
  readonly contactsById = new Map<string, UserContact>();
  down = false;
  calls = 0;

  add(contact: Partial<UserContact> = {}): string {
    const id = contact.id ?? `user_${randomUUID().slice(0, 8)}`;
    this.contactsById.set(id, {
      id,
      email: `${id}@example.com`,
      name: 'Nguyễn Văn <b>An</b>',
      locale: 'vi',
      ...contact,
    });
    return id;
  }

  contacts(userIds: readonly string[]): Promise<UserContact[]> {
    this.calls += 1;
    if (this.down) {
      return Promise.reject(new AppError('SERVICE_UNAVAILABLE', 'Service "users" is unavailable'));
    }
    return Promise.resolve(userIds.flatMap((id) => this.contactsById.get(id) ?? []));
  }
}

/** A real SMTP server on port 0 that parses what it accepts; `refusing` answers 421. */
class TestSmtp {
  readonly received: ParsedMail[] = [];
  refusing = false;
  private readonly server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      secure: false,
      logger: false,
      onConnect: (_session, callback) => {
        if (!this.refusing) return callback();
        callback(Object.assign(new Error('Try again later'), { responseCode: 421 }));
      },
      // Parsed before the server answers 250: when sendMail resolves, the message is here.
      onData: (stream, _session, callback) => {
        simpleParser(stream, { keepCidLinks: true }).then(
          (mail) => {
            this.received.push(mail);
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  to(address: string): ParsedMail[] {
    return this.received.filter((m) => m.to && JSON.stringify(m.to).includes(address));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface OutboxRow {
  id: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  message_id: string;
}

describe('the mail outbox and worker', () => {
  let kit: EngineKit;
  let smtp: TestSmtp;
  let smtpTransport: Transporter;
  const users = new FakeUsers();
  const log = createLogger('bookings', 'silent');
  const disposals: (() => Promise<unknown>)[] = [];
  const PAYMENTS = { kind: 'service', service: 'payments' } as const;

  beforeAll(async () => {
    kit = await startEngineKit();
    disposals.push(() => kit.close());
    // Until the migration is registered in schema.ts, this test applies it itself.
    const [{ present }] = await kit.dataSource.query<{ present: boolean }[]>(
      `SELECT to_regclass('mail_outbox') IS NOT NULL AS present`,
    );
    if (!present) {
      const runner = kit.dataSource.createQueryRunner();
      try {
        await new MailOutbox1733300000001().up(runner);
      } finally {
        await runner.release();
      }
    }
    smtp = new TestSmtp();
    await smtp.start();
    disposals.push(() => smtp.close());
    smtpTransport = createMailTransport({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      mailDir: 'unused',
    }).transport;
    disposals.push(() => Promise.resolve(smtpTransport.close()));
  });

  afterAll(async () => {
    for (const dispose of disposals.reverse()) await dispose();
  });

  /** A worker that only runs when the test says (its poll is an hour away). */
  async function worker(options: Partial<MailWorkerOptions> = {}): Promise<MailWorker> {
    const started = startMailWorker({
      dataSource: kit.dataSource,
      transport: smtpTransport,
      users,
      tickets: kit.engine.tickets,
      from: 'MovieHub <no-reply@moviehub.test>',
      frontendUrl: 'https://moviehub.test/',
      log,
      clock: kit.clock.read,
      pollMs: HOUR,
      backoff: (attempt) => attempt * 60_000,
      ...options,
    });
    disposals.push(() => started.stop());
    // The pass it runs at start finishes before this one: from here on, the test drives.
    await started.runOnce();
    return started;
  }

  /** A CONFIRMED booking of `seats` STANDARD seats for `userId`, its tickets issued. */
  async function confirmedBooking(userId: string, seats = 2) {
    const show = kit.cinemas.addShowtime({
      startsAt: new Date(kit.clock.now.getTime() + 72 * HOUR),
    });
    const seatIds = show.seats
      .filter((s) => s.seatType === 'STANDARD')
      .slice(0, seats)
      .map((s) => s.seatId);
    kit.cinemas.hold(userId, show.id, seatIds);
    const booking = await kit.engine.creation.create(userId, { showtimeId: show.id, seatIds });
    await kit.engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS });
    const tickets = await kit.dataSource
      .getRepository(Ticket)
      .find({ where: { bookingId: booking.id }, order: { seatIndex: 'ASC' } });
    return { booking, tickets };
  }

  const enqueue = (mail: MailRequest) =>
    kit.dataSource.transaction((manager) => enqueueMail(manager, mail));

  const confirmation = (userId: string, bookingId: string): MailRequest => ({
    kind: 'booking-confirmed',
    userId,
    bookingId,
    dedupeKey: `booking-confirmed:${bookingId}`,
  });

  async function rowsOf(bookingId: string): Promise<OutboxRow[]> {
    return kit.dataSource.query(
      `SELECT id, status, attempts, next_attempt_at, last_error, message_id
         FROM mail_outbox WHERE booking_id = $1`,
      [bookingId],
    );
  }

  /** The text each inline PNG of a message encodes, by Content-ID. */
  function qrTexts(mail: ParsedMail): Map<string, string> {
    const found = new Map<string, string>();
    for (const attachment of mail.attachments) {
      expect(attachment.contentType).toBe('image/png');
      expect(attachment.contentDisposition).toBe('inline');
      const png = PNG.sync.read(attachment.content);
      const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
      expect(code).not.toBeNull();
      found.set(attachment.cid!, code!.data);
    }
    return found;
  }

  it('sends one confirmation with each ticket’s QR code inline, readable back to its payload', async () => {
    const mail = await worker();
    const userId = users.add();
    const { booking, tickets } = await confirmedBooking(userId, 2);
    await enqueue(confirmation(userId, booking.id));

    expect(await mail.runOnce()).toBe(1);
    expect(await mail.runOnce()).toBe(0);

    const received = smtp.to(`${userId}@example.com`);
    expect(received).toHaveLength(1);
    const [message] = received;
    const [row] = await rowsOf(booking.id);
    expect(row).toMatchObject({ status: 'SENT', attempts: 1 });
    expect(message.messageId).toBe(row.message_id);
    expect(row.message_id).toBe(`<mail-${row.id}@moviehub>`);
    expect(message.subject).toBe(`Xác nhận đặt vé ${booking.bookingCode} – MovieHub`);

    expect(message.attachments).toHaveLength(2);
    const decoded = qrTexts(message);
    for (const ticket of tickets) {
      const payload = kit.engine.tickets.payloadOf(ticket);
      expect(payload).not.toBeNull();
      const cid = [...decoded].find(([, text]) => text === payload)?.[0];
      expect(cid).toBeDefined();
      expect(message.html).toContain(`src="cid:${cid}"`);
      expect(message.text).toContain(ticket.ticketCode);
      expect(message.text).toContain(`${ticket.seatRow}${ticket.seatNumber}`);
    }
    expect(message.text).toContain(`https://moviehub.test/bookings/${booking.id}`);
    expect(message.text).toContain('200.000 ₫');
    // The user's name is theirs to choose: it reaches the HTML escaped.
    expect(message.html).toContain('Nguyễn Văn &lt;b&gt;An&lt;/b&gt;');
    expect(message.html).not.toContain('<b>An</b>');
  });

  it('sends one message however many times the same cause enqueues it', async () => {
    const mail = await worker();
    const userId = users.add();
    const { booking } = await confirmedBooking(userId, 1);
    await enqueue(confirmation(userId, booking.id));
    await enqueue(confirmation(userId, booking.id));

    expect(await rowsOf(booking.id)).toHaveLength(1);
    expect(await mail.runOnce()).toBe(1);
    await enqueue(confirmation(userId, booking.id));
    expect(await mail.runOnce()).toBe(0);
    expect(smtp.to(`${userId}@example.com`)).toHaveLength(1);
  });

  it('records nothing outside a transaction, and nothing when the transaction rolls back', async () => {
    const userId = users.add();
    const { booking } = await confirmedBooking(userId, 1);
    await expect(
      enqueueMail(kit.dataSource.manager, confirmation(userId, booking.id)),
    ).rejects.toThrow(/transaction/);
    await expect(
      kit.dataSource.transaction(async (manager) => {
        await enqueueMail(manager, confirmation(userId, booking.id));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await rowsOf(booking.id)).toHaveLength(0);
  });

  it('keeps a message through an SMTP outage and delivers it exactly once when the server is back', async () => {
    const mail = await worker();
    const userId = users.add();
    const { booking } = await confirmedBooking(userId, 1);
    await enqueue(confirmation(userId, booking.id));

    smtp.refusing = true;
    try {
      expect(await mail.runOnce()).toBe(0);
    } finally {
      smtp.refusing = false;
    }
    const [failed] = await rowsOf(booking.id);
    expect(failed).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(failed.last_error).toMatch(/421/);
    // The test's backoff: one minute after the first failure.
    expect(failed.next_attempt_at.getTime()).toBe(kit.clock.now.getTime() + 60_000);

    // The server is back, but the message is not due yet.
    expect(await mail.runOnce()).toBe(0);
    expect(smtp.to(`${userId}@example.com`)).toHaveLength(0);

    kit.clock.advance(60_000);
    expect(await mail.runOnce()).toBe(1);
    expect(await mail.runOnce()).toBe(0);
    expect(smtp.to(`${userId}@example.com`)).toHaveLength(1);
    const [sent] = await rowsOf(booking.id);
    expect(sent).toMatchObject({ status: 'SENT', attempts: 2, last_error: null });
  });

  it('fails fast when the SMTP server is gone, and gives a message up after the last attempt', async () => {
    // A port nobody listens on: connection refused.
    const gone = new TestSmtp();
    await gone.start();
    await gone.close();
    const { transport } = createMailTransport({
      smtpUrl: `smtp://127.0.0.1:${gone.port}`,
      mailDir: 'unused',
    });
    disposals.push(() => Promise.resolve(transport.close()));
    const mail = await worker({ transport, maxAttempts: 2 });
    const userId = users.add();
    const { booking } = await confirmedBooking(userId, 1);
    await enqueue(confirmation(userId, booking.id));

    expect(await mail.runOnce()).toBe(0);
    expect((await rowsOf(booking.id))[0]).toMatchObject({ status: 'PENDING', attempts: 1 });
    kit.clock.advance(60_000);
    expect(await mail.runOnce()).toBe(0);
    const [dead] = await rowsOf(booking.id);
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 2 });
    expect(dead.last_error).toMatch(/ECONNREFUSED|connect/i);
  });

  it('sends each message once while several workers race for them', async () => {
    const workers = [await worker(), await worker(), await worker()];
    const userId = users.add();
    const bookings = [];
    for (let i = 0; i < 6; i += 1) bookings.push((await confirmedBooking(userId, 1)).booking);
    for (const booking of bookings) await enqueue(confirmation(userId, booking.id));

    const sent = await Promise.all(workers.map((w) => w.runOnce()));
    expect(sent.reduce((a, b) => a + b, 0)).toBe(6);
    const received = smtp.to(`${userId}@example.com`);
    expect(received).toHaveLength(6);
    expect(new Set(received.map((m) => m.messageId)).size).toBe(6);
  });

  it('sends again after the lease of a worker that died mid-send, with the same Message-ID', async () => {
    const mail = await worker();
    const userId = users.add();
    const { booking } = await confirmedBooking(userId, 1);
    await enqueue(confirmation(userId, booking.id));
    // What a worker's claim leaves behind when its process dies before it marks the row.
    const leaseEnd = new Date(kit.clock.now.getTime() + 3 * 60_000);
    await kit.dataSource.query(
      `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE booking_id = $1`,
      [booking.id, leaseEnd],
    );

    expect(await mail.runOnce()).toBe(0);
    kit.clock.set(leaseEnd);
    expect(await mail.runOnce()).toBe(1);
    const [row] = await rowsOf(booking.id);
    expect(row).toMatchObject({ status: 'SENT', attempts: 2 });
    const [message] = smtp.to(`${userId}@example.com`);
    expect(message.messageId).toBe(row.message_id);
  });

  it('waits out a users outage without counting it as an attempt', async () => {
    const mail = await worker();
    const userId = users.add();
    const { booking } = await confirmedBooking(userId, 1);
    await enqueue(confirmation(userId, booking.id));

    users.down = true;
    try {
      expect(await mail.runOnce()).toBe(0);
    } finally {
      users.down = false;
    }
    const [waiting] = await rowsOf(booking.id);
    expect(waiting).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(waiting.last_error).toMatch(/users/);
    expect(waiting.next_attempt_at.getTime()).toBeGreaterThan(kit.clock.now.getTime());

    kit.clock.advance(60_000);
    expect(await mail.runOnce()).toBe(1);
    expect((await rowsOf(booking.id))[0]).toMatchObject({ status: 'SENT', attempts: 1 });
  });

  it('writes in the language of the contact', async () => {
    const mail = await worker();
    const vi = users.add({ locale: 'vi' });
    const en = users.add({ locale: 'en', name: 'Alice' });
    const viBooking = (await confirmedBooking(vi, 1)).booking;
    const enBooking = (await confirmedBooking(en, 1)).booking;
    await enqueue(confirmation(vi, viBooking.id));
    await enqueue(confirmation(en, enBooking.id));

    expect(await mail.runOnce()).toBe(2);
    const [viMail] = smtp.to(`${vi}@example.com`);
    const [enMail] = smtp.to(`${en}@example.com`);
    expect(viMail.subject).toBe(`Xác nhận đặt vé ${viBooking.bookingCode} – MovieHub`);
    expect(viMail.text).toContain('giờ Việt Nam');
    expect(enMail.subject).toBe(`Booking confirmed: ${enBooking.bookingCode} – MovieHub`);
    expect(enMail.text).toContain('Hello Alice,');
    expect(enMail.text).toContain('100,000 VND');
    expect(enMail.text).toContain('Vietnam time');
  });

  it('skips a user whose email was erased, and sends nothing', async () => {
    const mail = await worker();
    const erased = users.add({ email: null, name: null });
    const { booking } = await confirmedBooking(erased, 1);
    await enqueue(confirmation(erased, booking.id));
    const before = smtp.received.length;

    expect(await mail.runOnce()).toBe(0);
    expect(smtp.received).toHaveLength(before);
    const [row] = await rowsOf(booking.id);
    expect(row).toMatchObject({ status: 'SKIPPED', attempts: 1 });
    kit.clock.advance(HOUR);
    expect(await mail.runOnce()).toBe(0);
    expect(smtp.received).toHaveLength(before);
  });

  it('tells a cancellation with its refund, and a completed refund', async () => {
    const mail = await worker();
    const userId = users.add({ locale: 'en' });
    const { booking } = await confirmedBooking(userId, 2);
    const { refund } = await kit.engine.lifecycle.cancelBooking(booking.id, {
      userId,
      isAdmin: false,
    });
    expect(refund).not.toBeNull();
    await enqueue({
      kind: 'booking-cancelled',
      userId,
      bookingId: booking.id,
      refundId: refund!.id,
      dedupeKey: `booking-cancelled:${booking.id}`,
    });
    await enqueue({
      kind: 'refund-completed',
      userId,
      bookingId: booking.id,
      refundId: refund!.id,
      dedupeKey: `refund-completed:${refund!.id}`,
    });
    // A confirmation still waiting when the booking was cancelled: its tickets are void.
    await enqueue(confirmation(userId, booking.id));

    expect(await mail.runOnce()).toBe(2);
    const received = smtp.to(`${userId}@example.com`);
    expect(received.map((m) => m.subject).sort()).toEqual([
      `Booking cancelled: ${booking.bookingCode} – MovieHub`,
      `Refund completed: ${booking.bookingCode} – MovieHub`,
    ]);
    for (const message of received) {
      expect(message.text).toContain('180,000 VND (90% of the amount paid)');
      expect(message.attachments).toHaveLength(0);
    }
    const statuses = (await rowsOf(booking.id)).map((r) => r.status).sort();
    expect(statuses).toEqual(['SENT', 'SENT', 'SKIPPED']);
  });

  it('writes one .eml file per message into the mailbox folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'moviehub-mail-'));
    disposals.push(() => rm(dir, { recursive: true, force: true }));
    const mailbox = join(dir, 'mail');
    const { transport, describe } = createMailTransport({ mailDir: mailbox });
    expect(describe).toBe(`mailbox folder ${mailbox}`);
    const mail = await worker({ transport });
    const userId = users.add({ locale: 'en' });
    const { booking, tickets } = await confirmedBooking(userId, 2);
    await enqueue(confirmation(userId, booking.id));

    expect(await mail.runOnce()).toBe(1);
    const files = await readdir(mailbox);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{8}T\d{9}Z-mail-[0-9a-f-]+@moviehub\.eml$/);
    const message = await simpleParser(await readFile(join(mailbox, files[0])), {
      keepCidLinks: true,
    });
    const [row] = await rowsOf(booking.id);
    expect(message.messageId).toBe(row.message_id);
    expect(message.subject).toBe(`Booking confirmed: ${booking.bookingCode} – MovieHub`);
    const decoded = [...qrTexts(message).values()].sort();
    expect(decoded).toEqual(tickets.map((t) => kit.engine.tickets.payloadOf(t)).sort());
  });
});

describe('defaultMailBackoff', () => {
  it('doubles from 5 s up to 15 minutes, jittered down by at most a quarter', () => {
    expect([1, 2, 3, 4].map((n) => defaultMailBackoff(n, () => 1))).toEqual([
      5_000, 10_000, 20_000, 40_000,
    ]);
    expect(defaultMailBackoff(1, () => 0)).toBe(3_750);
    expect(defaultMailBackoff(9, () => 1)).toBe(900_000);
    expect(defaultMailBackoff(1_000, () => 1)).toBe(900_000);
  });
});
