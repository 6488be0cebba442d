import { IdPrefix, newId } from 'src/common/ids/ids';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { describeIntegration } from 'test/integration/integration-context';

const token = () => `runner_token_${newId('x').slice(2)}`;

describeIntegration(`${SessionsRepository.name} host binding`, (ctx) => {
  it('should bind a host runner only while the session is still bound as expected', async () => {
    const session = await ctx.newSession({ runnerId: null });
    const hostId = newId(IdPrefix.Host);
    const first = token();
    const second = token();

    const binding = (runnerId: string) => ({ runnerId, hostId, workspace: '/w' });
    const [a, b] = await Promise.all([
      ctx.sessions.bindHostRunner(session.id, null, binding(first)),
      ctx.sessions.bindHostRunner(session.id, null, binding(second)),
    ]);

    // Two launches racing for an unbound session: exactly one wins.
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const winner = a ? first : second;
    await expect(ctx.sessions.getById(session.id)).resolves.toMatchObject({
      runnerId: winner,
      hostId,
      workspace: '/w',
    });
    // A relaunch names the runner it replaces.
    const third = token();
    await expect(ctx.sessions.bindHostRunner(session.id, null, binding(third))).resolves.toBe(
      false,
    );
    await expect(ctx.sessions.bindHostRunner(session.id, winner, binding(third))).resolves.toBe(
      true,
    );
    await expect(ctx.sessions.boundRunnersOfHost(hostId, [first, second, third])).resolves.toEqual([
      third,
    ]);
  });

  it('should roll back only its own binding', async () => {
    const session = await ctx.newSession({ runnerId: null });
    const hostId = newId(IdPrefix.Host);
    const mine = token();
    await ctx.sessions.bindHostRunner(session.id, null, {
      runnerId: mine,
      hostId,
      workspace: '/w',
    });

    await ctx.sessions.unbindRunner(session.id, token());
    await expect(ctx.sessions.getById(session.id)).resolves.toMatchObject({ runnerId: mine });
    await ctx.sessions.unbindRunner(session.id, mine);
    await expect(ctx.sessions.getById(session.id)).resolves.toMatchObject({
      runnerId: null,
      hostId,
    });
    await expect(ctx.sessions.listByRunner(mine)).resolves.toEqual([]);
  });
});
