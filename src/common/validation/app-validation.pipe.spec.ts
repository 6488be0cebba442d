import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import fc from 'fast-check';

import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';
import { SessionEventInputDto } from 'src/modules/sessions/dto/session-request.dto';

const meta: ArgumentMetadata = { type: 'body', metatype: SessionEventInputDto };

/** What the full pipe (class-transformer, then class-validator) answers: a value or an error. */
async function fullPipe(pipe: AppValidationPipe, body: unknown): Promise<unknown> {
  return ValidationPipe.prototype.transform.call(pipe, body, meta).catch((error: unknown) => ({
    rejected: error,
  }));
}

const message = {
  type: 'message',
  data: { role: 'user', content: [{ type: 'input_text', text: 'héllo 😀' }], n: 1, ok: true },
};

describe(AppValidationPipe.name, () => {
  let pipe: AppValidationPipe;
  let full: jest.SpyInstance;

  beforeEach(() => {
    pipe = new AppValidationPipe();
    full = jest.spyOn(ValidationPipe.prototype, 'transform');
  });

  afterEach(() => full.mockRestore());

  describe('a body class with fastBody (SessionEventInputDto)', () => {
    it.each([
      ['a message', message],
      ['a bare type', { type: 'interrupt' }],
      [
        'every field',
        {
          ...message,
          model_override: 'gpt-x',
          tools: [{ type: 'function', name: 'f', parameters: { a: [1, null] } }],
          created_by: null,
        },
      ],
      ['null optionals', { type: 'message', data: {}, model_override: null, tools: null }],
      ['strings at their limit', { type: 't'.repeat(100), created_by: 'u'.repeat(256) }],
    ])('should answer %s without class-validator, as the full pipe does', async (_name, body) => {
      const fast = await pipe.transform(structuredClone(body), meta);
      expect(full).not.toHaveBeenCalled();
      expect(fast).toBeInstanceOf(SessionEventInputDto);
      expect(fast).toStrictEqual(await fullPipe(pipe, structuredClone(body)));
    });

    it('should copy the nested values, as class-transformer does', async () => {
      const body = structuredClone(message);
      const fast = (await pipe.transform(body, meta)) as SessionEventInputDto;
      expect(fast.data).toEqual(body.data);
      expect(fast.data).not.toBe(body.data);
      expect(fast.data?.content).not.toBe(body.data.content);
    });

    it.each([
      ['an unknown key (dropped)', { ...message, extra: 1 }],
      ['a __proto__ key', JSON.parse('{"type":"message","__proto__":{"x":1}}') as object],
      ['no type', { data: {} }],
      ['an empty type', { type: '' }],
      ['a type past its limit', { type: 't'.repeat(101) }],
      ['a type of four-byte characters near its limit', { type: '😀'.repeat(51) }],
      ['a number type', { type: 7 }],
      ['null data', { type: 'message', data: null }],
      ['array data', { type: 'message', data: [] }],
      ['a number model_override', { type: 'message', model_override: 3 }],
      ['created_by past its limit', { type: 'message', created_by: 'u'.repeat(257) }],
      ['tools not an array', { type: 'message', tools: {} }],
      ['a tool that is not an object', { type: 'message', tools: [{}, 'x'] }],
      ['a nested key of Object.prototype', { type: 'message', data: { a: [{ toString: 1 }] } }],
    ])('should leave %s to the full pipe, with its answer', async (_name, body) => {
      const answer = await pipe
        .transform(structuredClone(body), meta)
        .catch((error: unknown) => ({ rejected: error }));
      expect(full).toHaveBeenCalledTimes(1);
      full.mockClear();
      expect(answer).toStrictEqual(await fullPipe(pipe, structuredClone(body)));
    });

    it('should never accept a body the full pipe refuses, nor build another value (property)', async () => {
      // Guards fastBody against drifting from the decorators: a limit tightened there and not
      // in fastBody lets bodies through that the full pipe refuses, and fails here.
      // Any string, or one whose length is near the limit `at` (where a drift would show).
      const text = (at: number) =>
        fc.oneof(
          fc.string({ maxLength: at + 20 }),
          fc
            .tuple(fc.integer({ min: at - 20, max: at + 20 }), fc.constantFrom('a', 'é', '😀'))
            .map(([n, unit]) => unit.repeat(unit.length === 2 ? Math.ceil(n / 2) : n)),
        );
      const optional = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: undefined });
      const json = fc.jsonValue({ maxDepth: 2 });
      const object = fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 4 });
      // Mostly bodies that pass everywhere but in one field, so the limits are what is tested.
      const body = fc.record(
        {
          type: fc.oneof({ arbitrary: text(100), weight: 8 }, fc.integer(), fc.constant(null)),
          data: optional(fc.oneof({ arbitrary: object, weight: 8 }, json)),
          model_override: optional(
            fc.oneof({ arbitrary: text(200), weight: 8 }, fc.constant(null), fc.integer()),
          ),
          created_by: optional(
            fc.oneof({ arbitrary: text(256), weight: 8 }, fc.constant(null), fc.boolean()),
          ),
          tools: optional(
            fc.oneof({ arbitrary: fc.array(object, { maxLength: 3 }), weight: 8 }, json),
          ),
        },
        { requiredKeys: ['type'] },
      );
      await fc.assert(
        fc.asyncProperty(body, async (value) => {
          const fast = SessionEventInputDto.fastBody(structuredClone(value));
          if (fast !== undefined) {
            expect(fast).toStrictEqual(await fullPipe(pipe, structuredClone(value)));
          }
        }),
        { numRuns: 1000 },
      );
    });

    it('should still refuse text that cannot be stored before the fast path', async () => {
      await expect(pipe.transform({ type: 'message\u0000' }, meta)).rejects.toMatchObject({
        detail: [expect.objectContaining({ loc: ['body', 'type'] })],
      });
      expect(full).not.toHaveBeenCalled();
    });
  });
});
