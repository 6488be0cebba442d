import {
  bodyEtag,
  etagMatches,
  jsonReply,
  versionEtag,
} from 'src/modules/sessions/json-reply.util';

describe('json-reply.util', () => {
  describe('versionEtag', () => {
    it('should give a short strong quoted tag, different per key and from body tags', () => {
      const tag = versionEtag('k1');
      expect(tag).toMatch(/^"v[\w-]{22}"$/);
      expect(versionEtag('k2')).not.toBe(tag);
      expect(bodyEtag('k1')).not.toBe(tag);
    });
  });

  describe('etagMatches', () => {
    it('should match the tag, in a list, in its weak form, and *', () => {
      expect(etagMatches('"a"', '"a"')).toBe(true);
      expect(etagMatches('"b", "a"', '"a"')).toBe(true);
      expect(etagMatches('W/"a"', '"a"')).toBe(true);
      expect(etagMatches('*', '"a"')).toBe(true);
    });

    it('should not match another tag, an unquoted one, or no header', () => {
      expect(etagMatches('"b"', '"a"')).toBe(false);
      expect(etagMatches('a', '"a"')).toBe(false);
      expect(etagMatches(undefined, '"a"')).toBe(false);
      expect(etagMatches('', '"a"')).toBe(false);
    });
  });

  describe('jsonReply', () => {
    it('should leave the JSON out when the client has the tag', () => {
      expect(jsonReply('"a"', '{}', '"a"')).toEqual({ etag: '"a"', json: null });
      expect(jsonReply('"a"', '{}', '"b"')).toEqual({ etag: '"a"', json: '{}' });
      expect(jsonReply('"a"', '{}')).toEqual({ etag: '"a"', json: '{}' });
    });
  });
});
