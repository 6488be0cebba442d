import { useTestApp } from 'test/e2e/create-app';
import { eventually } from 'test/utils/http-api';
import { useServerWithRunner } from 'test/utils/server-with-runner';
import { openSse } from 'test/utils/sse-client';

/** The value of one series in a Prometheus text scrape (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics on a running server with a runner', () => {
  const stack = useServerWithRunner();
  const scrape = async () => {
    const res = await fetch(`${stack.server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('should count requests, streams, frames, runners, turns, the bus and the pool', async () => {
    const session = await stack.api.createSession('echo');
    await stack.api.bind(session.id, stack.runner.runnerId);
    const stream = await openSse(stack.server.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    expect((await stack.api.say(session.id, 'count me')).status).toBe(202);
    await stream.waitFor((f) => f.event === 'response.completed', 20_000);

    const during = await scrape();
    expect(sample(during, 'omnigent_runners_connected')).toBe(1);
    expect(sample(during, 'omnigent_turns_total{outcome="completed"}')).toBe(1);
    expect(sample(during, 'omnigent_turn_duration_seconds_count{outcome="completed"}')).toBe(1);
    expect(
      sample(
        during,
        'omnigent_http_requests_total{method="POST",route="/v1/sessions",status="201"}',
      ),
    ).toBe(1);
    expect(
      sample(
        during,
        'omnigent_http_request_duration_seconds_count{method="POST",route="/v1/sessions",status="201"}',
      ),
    ).toBe(1);
    expect(sample(during, 'omnigent_db_pool_connections{state="total"}')).toBeGreaterThan(0);
    expect(sample(during, 'omnigent_bus_delivery_seconds_count')).toBeGreaterThan(0);
    // Counted in the shared test database: other suites' pending approvals count too (the
    // policies e2e checks the gauge moves with an approval of its own).
    expect(sample(during, 'omnigent_pending_approvals')).toBeGreaterThanOrEqual(0);
    expect(sample(during, 'omnigent_hosts_connected')).toBe(0);
    const streamRoute = '{route="/v1/sessions/:session_id/stream"}';
    expect(sample(during, `omnigent_open_streams${streamRoute}`)).toBe(1);
    // The ack heartbeat, the turn's events and its deltas: at least the frames the client saw.
    expect(
      sample(during, `omnigent_stream_frames_sent_total${streamRoute}`),
    ).toBeGreaterThanOrEqual(stream.frames.length);
    expect(during).toContain('omnigent_process_cpu_seconds_total');

    stream.close();
    await stack.runner.stop();
    await eventually(async () => {
      const after = await scrape();
      expect(sample(after, 'omnigent_runners_connected')).toBe(0);
      expect(sample(after, `omnigent_open_streams${streamRoute}`)).toBe(0);
    });
  });

  it('should give unmatched paths one label instead of one series per URL', async () => {
    await fetch(`${stack.server.url}/no/such/path/1`);
    await fetch(`${stack.server.url}/no/such/path/2`);
    const text = await scrape();
    expect(
      sample(text, 'omnigent_http_requests_total{method="GET",route="unmatched",status="404"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain('/no/such/path');
  });
});

describe('GET /metrics with OMNIGENT_METRICS_TOKEN', () => {
  const TOKEN = 'scrape-token-0123456789';

  const t = useTestApp('postgres', { OMNIGENT_METRICS_TOKEN: TOKEN });

  it('should answer 401 with the error body without the token and 200 with it', async () => {
    const missing = await t.http.get('/metrics').expect(401);
    expect(missing.body).toMatchObject({ code: 'unauthorized', error: { code: 'unauthorized' } });
    await t.http.get('/metrics').set('Authorization', 'Bearer wrong').expect(401);
    const ok = await t.http.get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(ok.text).toContain('# TYPE omnigent_http_requests_total counter');
  });
});
