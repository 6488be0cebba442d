import { createServer, get, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

import { MessageEvent } from '@nestjs/common';
import { finalize, Observable, Subject } from 'rxjs';

import { frameText, writeSse } from 'src/common/sse/sse-writer';

describe('frameText', () => {
  it('should write event, id and one data line per line of the data, then a blank line', () => {
    expect(frameText({ type: 'a.b', id: '3', data: '{"x":1}' })).toBe(
      'event: a.b\nid: 3\ndata: {"x":1}\n\n',
    );
    expect(frameText({ id: '4', data: 'one\ntwo' })).toBe('id: 4\ndata: one\ndata: two\n\n');
  });

  it('should keep a frame on its own lines whatever its type and id hold', () => {
    expect(frameText({ type: 'x\ny', id: '1\r', data: '' })).toBe('event: xy\nid: 1\ndata: \n\n');
  });
});

describe('writeSse', () => {
  let server: Server;
  let url: string;
  let frames$: Observable<MessageEvent>;
  let writes: string[];
  let maxPending: number;

  beforeEach(async () => {
    writes = [];
    maxPending = 1 << 20;
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const write = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        writes.push(String(chunk));
        return write(chunk);
      }) as typeof res.write;
      writeSse(req, res, frames$, { maxPending });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterEach(() => new Promise((resolve) => server.close(resolve)));

  /** Opens the stream; resolves with the response once the headers are in. */
  const open = () =>
    new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
  const body = (res: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });

  it('should send the event-stream headers, and the frames of one tick in one write', async () => {
    const source = new Subject<MessageEvent>();
    frames$ = source;
    const res = await open();
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['cache-control']).toContain('no-cache');
    const text = body(res);
    for (let i = 1; i <= 3; i++) {
      source.next({ type: 'e', id: String(i), data: `{"n":${i}}` });
    }
    source.complete();
    expect(await text).toBe(
      '\nevent: e\nid: 1\ndata: {"n":1}\n\nevent: e\nid: 2\ndata: {"n":2}\n\n' +
        'event: e\nid: 3\ndata: {"n":3}\n\n',
    );
    // The opening blank line, then the three frames together.
    expect(writes).toHaveLength(2);
  });

  it('should send a frame bigger than the limit to a client that reads', async () => {
    maxPending = 1024;
    const source = new Subject<MessageEvent>();
    frames$ = source;
    const text = body(await open());
    const data = 'x'.repeat(256 * 1024);
    source.next({ type: 'big', id: '1', data });
    await new Promise((resolve) => setTimeout(resolve, 50));
    source.complete();
    expect(await text).toBe(`\nevent: big\nid: 1\ndata: ${data}\n\n`);
  });

  it('should answer HEAD with the headers only, giving the stream back', async () => {
    let left!: () => void;
    const gone = new Promise<void>((resolve) => (left = resolve));
    frames$ = new Subject<MessageEvent>().pipe(finalize(() => left()));
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      request(url, { method: 'HEAD' }, resolve).on('error', reject).end(),
    );
    expect(res.headers['content-type']).toBe('text/event-stream');
    await gone;
    expect(await body(res)).toBe('');
  });

  it('should leave the frames when the client goes away', async () => {
    let left!: () => void;
    const gone = new Promise<void>((resolve) => (left = resolve));
    frames$ = new Subject<MessageEvent>().pipe(finalize(() => left()));
    const res = await open();
    res.destroy();
    await gone;
  });
});
