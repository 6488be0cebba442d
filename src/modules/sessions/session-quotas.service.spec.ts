import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(SessionQuotasService.name, () => {
  let t: TestService<SessionQuotasService>;

  beforeEach(() => {
    t = newTestService(SessionQuotasService);
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
