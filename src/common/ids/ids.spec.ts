import { IdPrefix, isItemId, isRunnerId, newId, normalizeId } from 'src/common/ids/ids';

describe('ids', () => {
  describe('newId', () => {
    it('should be the prefix and 32 hex characters', () => {
      expect(newId(IdPrefix.Session)).toMatch(/^conv_[0-9a-f]{32}$/);
    });

    it('should sort by creation order, even within one millisecond', () => {
      const ids = Array.from({ length: 500 }, () => newId(IdPrefix.Message));
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  describe('normalizeId', () => {
    const hex = '0123456789abcdef0123456789abcdef';

    it('should accept our prefixed form', () => {
      expect(normalizeId(IdPrefix.Session, `conv_${hex}`)).toBe(`conv_${hex}`);
    });

    it("should accept upstream's bare and dashed forms", () => {
      expect(normalizeId(IdPrefix.Session, hex.toUpperCase())).toBe(`conv_${hex}`);
      expect(normalizeId(IdPrefix.Session, '01234567-89ab-cdef-0123-456789abcdef')).toBe(
        `conv_${hex}`,
      );
    });

    it('should reject malformed ids and other prefixes', () => {
      for (const bad of ['', 'conv_', 'conv_xyz', `ag_${hex}`, `conv_${hex}0`, '../etc', 'null']) {
        expect(normalizeId(IdPrefix.Session, bad)).toBeNull();
      }
    });
  });

  it('should recognise runner and item ids', () => {
    expect(isRunnerId(`runner_${'a'.repeat(32)}`)).toBe(true);
    expect(isRunnerId(`runner_token_${'a'.repeat(32)}`)).toBe(true);
    expect(isRunnerId('runner_x')).toBe(false);
    expect(isItemId(newId(IdPrefix.Message))).toBe(true);
    expect(isItemId('msg_../../x')).toBe(false);
  });
});
