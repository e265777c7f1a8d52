import { startHttpService, type StartedHttpService } from './http-service';
import { internalReadinessHeaders } from './health';
import { createLogger } from './logger';
import { BoundedLabels, OTHER, ServiceMetrics } from './metrics';

const SECRET = 'metrics-test-internal-secret-of-32-characters';
const TOKEN = 'metrics-scraper-token-0123456789';

describe('/metrics in production', () => {
  let service: StartedHttpService<undefined>;
  let url: string;

  beforeAll(async () => {
    service = await startHttpService(
      {
        name: 'probe',
        host: '127.0.0.1',
        port: 0,
        log: createLogger('probe', 'silent'),
        requestIds: 'trust',
        health: { internalSecret: SECRET, audience: 'metrics-probe' },
        metrics: { open: false, token: TOKEN },
      },
      () => Promise.resolve({ readiness: () => ({}), value: undefined }),
    );
    url = `http://127.0.0.1:${service.port}/metrics`;
  });

  afterAll(() => service?.stop());

  const status = async (headers: Record<string, string> = {}) =>
    (await fetch(url, { headers })).status;

  it('is closed to anyone without the token or a service identity signed for this service', async () => {
    expect(await status()).toBe(401);
    expect(await status({ authorization: `Bearer ${TOKEN}x` })).toBe(401);
    expect(await status({ authorization: TOKEN })).toBe(401);
    expect(await status(internalReadinessHeaders(SECRET, 'another-service'))).toBe(401);
    expect(await status(internalReadinessHeaders('x'.repeat(40), 'metrics-probe'))).toBe(401);
  });

  it('answers the scraper with the token, and the other services', async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^moviehub_http_requests_total\{.*service="metrics-probe"/m);
    expect(await status(internalReadinessHeaders(SECRET, 'metrics-probe'))).toBe(200);
  });
});

describe('ServiceMetrics', () => {
  it('renders hot histograms as Prometheus buckets, with the service label', async () => {
    const metrics = new ServiceMetrics('render-test');
    const latency = metrics.histogram('test_latency_seconds', 'Latency', ['route'], [0.1, 1]);
    const series = latency.bind('/graphql');
    for (const seconds of [0.05, 0.1, 0.5, 3]) series.observe(seconds);
    metrics.counter('test_calls_total', 'Calls', ['outcome']).bind('ok').inc(2);
    const text = await metrics.render();
    const bucket = (le: string) => `route="/graphql",le="${le}",service="render-test"`;
    expect(text).toContain(`test_latency_seconds_bucket{${bucket('0.1')}} 2`);
    expect(text).toContain(`test_latency_seconds_bucket{${bucket('1')}} 3`);
    expect(text).toContain(`test_latency_seconds_bucket{${bucket('+Inf')}} 4`);
    expect(text).toContain('test_latency_seconds_sum{route="/graphql",service="render-test"} 3.65');
    expect(text).toContain('test_latency_seconds_count{route="/graphql",service="render-test"} 4');
    expect(text).toContain('test_calls_total{outcome="ok",service="render-test"} 2');
    expect(text).toContain('process_cpu_user_seconds_total{service="render-test"}');
  });

  it('declares a metric once however often it is asked for, and refuses another kind', () => {
    const metrics = new ServiceMetrics('declare-test');
    const first = metrics.counter('test_total', 'Total', ['a']);
    expect(metrics.counter('test_total', 'Total', ['a'])).toBe(first);
    expect(() => metrics.histogram('test_total', 'Total', ['a'])).toThrow(/another kind/);
  });

  it('sums the sources of a sampled gauge, leaves out a failing one and counts it', async () => {
    const metrics = new ServiceMetrics('sampled-test');
    const gauge = metrics.sampled('test_open', 'Open things', ['kind']);
    gauge.add(() => [{ labels: { kind: 'a' }, value: 2 }]);
    const removeSecond = gauge.add(() => Promise.resolve([{ labels: { kind: 'a' }, value: 3 }]));
    gauge.add(() => Promise.reject(new Error('database down')));
    let text = await metrics.render();
    expect(text).toContain('test_open{kind="a",service="sampled-test"} 5');
    expect(text).toContain(
      'moviehub_metric_sample_failures_total{metric="test_open",service="sampled-test"} 1',
    );
    removeSecond();
    text = await metrics.render();
    expect(text).toContain('test_open{kind="a",service="sampled-test"} 2');
  });
});

describe('BoundedLabels', () => {
  it('gives the first values their own series and every later one "other"', () => {
    const bound: string[] = [];
    const labels = new BoundedLabels(2, (value) => {
      bound.push(value);
      return value;
    });
    expect(['a', 'b', 'a', 'c', 'd', 'b'].map((v) => labels.get(v))).toEqual([
      'a',
      'b',
      'a',
      OTHER,
      OTHER,
      'b',
    ]);
    // Each bound once: nothing made per call.
    expect(bound).toEqual(['a', 'b', OTHER]);
  });
});
