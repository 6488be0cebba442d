import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(SessionQuotasService.name, () => {
  let t: TestService<SessionQuotasService>;

  beforeEach(() => {
    t = newTestService(SessionQuotasService, { env: { OMNIGENT_QUOTA_ITEMS_PER_SESSION: '5' } });
  });

  describe('checkItems', () => {
    it('should pass a session below its item quota', () => {
      expect(() => t.sut.checkItems(4)).not.toThrow();
    });

    it('should answer a session at its item quota with 429 quota_exceeded', () => {
      expect(() => t.sut.checkItems(5)).toThrow(
        expect.objectContaining({ code: 'quota_exceeded', message: expect.stringContaining('5') }),
      );
    });
  });

  describe('checkCreated', () => {
    it('should pass the session a create stored', () => {
      const session = sessionEntityFactory();
      expect(t.sut.checkCreated(session)).toBe(session);
    });

    it('should answer a create the quota refused (null) with 429 quota_exceeded', () => {
      expect(() => t.sut.checkCreated(null)).toThrow(
        expect.objectContaining({ code: 'quota_exceeded' }),
      );
    });
  });
});
