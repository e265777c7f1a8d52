import { randomBytes, randomUUID } from 'node:crypto';
import { Brackets, type DataSource, type Repository } from 'typeorm';
import {
  API_KEY_PREFIX,
  API_KEY_RANDOM_BYTES,
  apiKeyHash,
} from '../../../../runtime/contracts/api-keys';
import { notFound } from '../../../../runtime/errors';
import type { Logger } from '../../../../runtime/logger';
import { decodeCursor, toConnection, type Connection } from '../../../../runtime/pagination';
import { intInRange, text } from '../../../../runtime/validation';
import { ApiKey, type CreateApiKeyResult } from './api-key.entity';
import {
  DEFAULT_REQUESTS_PER_MINUTE,
  MAX_REQUESTS_PER_MINUTE,
  type CreateApiKeyInput,
} from './api-key.inputs';
import type { ApiKeyRegistry, StoredApiKey } from './api-key.registry';

/** Characters of a key kept to tell keys apart: the prefix and 4 random ones. */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;

/** Issuing, listing, revoking and verifying partner keys; the database is the truth. */
export class ApiKeyService {
  private readonly keys: Repository<ApiKey>;

  constructor(
    dataSource: DataSource,
    private readonly registry: ApiKeyRegistry,
    private readonly log: Pick<Logger, 'warn'>,
  ) {
    this.keys = dataSource.getRepository(ApiKey);
  }

  /** A new key: 256 random bits after the prefix. The key is returned this once. */
  async create(input: CreateApiKeyInput, createdBy: string): Promise<CreateApiKeyResult> {
    const name = text('name', input.name, { max: 100 });
    const owner = text('owner', input.owner, { max: 200 });
    const requestsPerMinute =
      input.requestsPerMinute === null || input.requestsPerMinute === undefined
        ? DEFAULT_REQUESTS_PER_MINUTE
        : intInRange('requestsPerMinute', input.requestsPerMinute, 1, MAX_REQUESTS_PER_MINUTE);
    const key = API_KEY_PREFIX + randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
    const apiKey = this.keys.create({
      id: randomUUID(),
      name,
      owner,
      requestsPerMinute,
      keyHash: apiKeyHash(key),
      prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
      createdBy,
      createdAt: new Date(),
      revokedAt: null,
    });
    await this.keys.insert(apiKey);
    await this.registry.issued(apiKey.keyHash, apiKey.id, requestsPerMinute);
    return { key, apiKey };
  }

  /** Keys, newest first. */
  async list(includeRevoked: boolean, first: number, after?: string | null) {
    const qb = this.keys.createQueryBuilder('k');
    if (!includeRevoked) qb.where('k.revoked_at IS NULL');
    const totalCount = await qb.getCount();
    const cursor = decodeCursor(after, ['timestamp', 'uuid']);
    if (cursor) {
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('k.created_at < :ca', { ca: cursor[0] })
            .orWhere('(k.created_at = :ca AND k.id > :cid)', { cid: cursor[1] }),
        ),
      );
    }
    const rows = await qb
      .orderBy('k.created_at', 'DESC')
      .addOrderBy('k.id', 'ASC')
      .limit(first + 1)
      .getMany();
    return toConnection(rows, first, totalCount, (k) => [
      k.createdAt.toISOString(),
      k.id,
    ]) satisfies Connection<ApiKey>;
  }

  /**
   * Revokes a key: true when this call revoked it, false when it was revoked already. The
   * gateways are told either way, so revoking again finishes a revocation whose message to
   * them failed.
   */
  async revoke(id: string): Promise<boolean> {
    const apiKey = await this.keys.findOneBy({ id });
    if (!apiKey) throw notFound('API key', id);
    const { affected } = await this.keys
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    await this.registry.revoked(apiKey.keyHash);
    return (affected ?? 0) > 0;
  }

  /**
   * The key with this hash, if it is active (for the gateway, on a Redis miss), and what the
   * database says of it written back for the next requests. Answered even if Redis is down.
   */
  async verify(hash: string): Promise<{ id: string; requestsPerMinute: number } | null> {
    const row = await this.keys.findOne({
      where: { keyHash: hash },
      select: { id: true, requestsPerMinute: true, revokedAt: true },
    });
    const stored: StoredApiKey | null = row && {
      id: row.id,
      requestsPerMinute: row.requestsPerMinute,
      revoked: row.revokedAt !== null,
    };
    await this.registry
      .remember(hash, stored)
      .catch((err: unknown) => this.log.warn({ err }, 'could not write an api key record'));
    return stored && !stored.revoked
      ? { id: stored.id, requestsPerMinute: stored.requestsPerMinute }
      : null;
  }
}
