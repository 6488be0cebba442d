import { randomBytes } from 'node:crypto';

import { IdPrefix, newId } from 'src/common/ids/ids';
import { PageRequest } from 'src/common/pagination/pagination';
import { AgentsRepository } from 'src/modules/registry/agents.repository';
import { agentFactory } from 'test/factories';
import { describeIntegration } from 'test/integration/integration-context';

describeIntegration(AgentsRepository.name, (ctx) => {
  const builtin = (overrides: { yaml?: string; description?: string } = {}) => {
    const { id, name, description, harness, spec, yaml } = agentFactory();
    return { id, name, description, harness, spec, yaml, ...overrides };
  };

  /** Puts updated_at in the past so "unchanged" is distinguishable from "touched". */
  const backdate = async (id: string) => {
    await ctx.dataSource.query(
      `UPDATE agents SET updated_at = '2020-01-01T00:00:00Z' WHERE id = $1`,
      [id],
    );
    return new Date('2020-01-01T00:00:00Z');
  };

  /** Every catalog row, walked page by page in the given order. */
  const walkCatalog = async (order: PageRequest['order']) => {
    const ids: string[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const page = await ctx.agents.listCatalog({ limit: 2, order, after });
      expect(page).not.toBeNull();
      ids.push(...(page?.rows ?? []).map((a) => a.id));
      if (!page?.hasMore) {
        return ids;
      }
      if (ids[ids.length - 1] === after) {
        throw new Error(`the catalog walk is stuck after ${after}`);
      }
      after = ids[ids.length - 1];
    }
    throw new Error('the catalog walk did not end');
  };

  describe('upsertBuiltin', () => {
    it('should insert a built-in agent at version 1', async () => {
      const agent = builtin();

      await ctx.agents.upsertBuiltin(agent);

      await expect(ctx.agents.getById(agent.id)).resolves.toMatchObject({
        ...agent,
        version: 1,
        builtin: true,
        ownerSessionId: null,
      });
      await expect(ctx.agents.findByName(agent.name)).resolves.toMatchObject({ id: agent.id });
    });

    it('should keep the version and updated_at when the YAML is unchanged', async () => {
      const agent = builtin();
      await ctx.agents.upsertBuiltin(agent);
      const past = await backdate(agent.id);

      await ctx.agents.upsertBuiltin({ ...agent, description: 'Reworded' });

      await expect(ctx.agents.getById(agent.id)).resolves.toMatchObject({
        version: 1,
        description: 'Reworded',
        updatedAt: past,
      });
    });

    it('should bump the version when the YAML changed', async () => {
      const agent = builtin();
      await ctx.agents.upsertBuiltin(agent);
      const past = await backdate(agent.id);
      const yaml = `${agent.yaml}prompt: Be brief.\n`;

      await ctx.agents.upsertBuiltin({ ...agent, yaml });
      await ctx.agents.upsertBuiltin({ ...agent, yaml });

      const stored = await ctx.agents.getById(agent.id);
      expect(stored).toMatchObject({ version: 2, yaml });
      expect(stored?.updatedAt.getTime()).toBeGreaterThan(past.getTime());
    });
  });

  describe('listCatalog', () => {
    it('should leave out session-scoped agents', async () => {
      const session = await ctx.newSession();
      const catalog = await ctx.newAgent();
      const scoped = await ctx.newAgent({ ownerSessionId: session.id, ownerId: session.ownerId });

      const page = await ctx.agents.listCatalog({ limit: 1000, order: 'desc' });
      const ids = page?.rows.map((a) => a.id);

      expect(ids).toContain(catalog.id);
      expect(ids).toContain(session.agentId);
      expect(ids).not.toContain(scoped.id);
      await expect(
        ctx.agents.listCatalog({ limit: 10, order: 'desc', after: scoped.id }),
      ).resolves.toBeNull();
      await expect(
        ctx.agents.listCatalog({ limit: 10, order: 'desc', before: newId(IdPrefix.Agent) }),
      ).resolves.toBeNull();
    });

    it.each(['desc', 'asc'] as const)(
      'should walk the catalog in %s order without skipping or repeating an agent',
      async (order) => {
        // One transaction: the agents share created_at, so only the id orders them.
        const mine = await ctx.dataSource.transaction(async (m) => {
          const ids: string[] = [];
          for (let i = 0; i < 5; i++) {
            ids.push((await ctx.agents.insertWith(m, agentFactory())).id);
          }
          return ids;
        });

        const walked = await walkCatalog(order);

        expect(new Set(walked).size).toBe(walked.length);
        const ascending = [...mine].sort();
        expect(walked.filter((id) => mine.includes(id))).toEqual(
          order === 'asc' ? ascending : ascending.reverse(),
        );
      },
    );
  });

  describe('cloneWith', () => {
    it('should copy a session-scoped agent with its bundle to another session', async () => {
      const source = await ctx.newSession();
      const fork = await ctx.newSession({ ownerId: source.ownerId });
      const bundle = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff]);
      const original = await ctx.newAgent({
        ownerSessionId: source.id,
        ownerId: source.ownerId,
        version: 3,
        bundle,
      });
      const cloneId = newId(IdPrefix.Agent);

      await ctx.dataSource.transaction((m) =>
        ctx.agents.cloneWith(m, original, cloneId, fork.id, source.ownerId),
      );

      await expect(ctx.agents.getById(cloneId)).resolves.toMatchObject({
        name: original.name,
        version: 3,
        yaml: original.yaml,
        ownerSessionId: fork.id,
        builtin: false,
      });
      await expect(ctx.agents.getBundle(cloneId)).resolves.toEqual(bundle);
      await ctx.dataSource.transaction((m) => ctx.agents.deleteOwnedBy(m, [fork.id]));
      await expect(ctx.agents.getById(cloneId)).resolves.toBeNull();
      await expect(ctx.agents.getById(original.id)).resolves.not.toBeNull();
    });
  });

  describe('bundle storage', () => {
    const bundleRows = async (sha256: string | null) =>
      Number(
        (
          await ctx.dataSource.query(`SELECT count(*) AS n FROM agent_bundles WHERE sha256 = $1`, [
            sha256,
          ])
        )[0].n,
      );
    const uniqueBundle = () => randomBytes(4096);

    it('should store a bundle once, share it with clones, and delete it with its last agent', async () => {
      const bundle = uniqueBundle();
      const ownerSession = newId(IdPrefix.Session);
      const original = await ctx.newAgent({ ownerSessionId: ownerSession, bundle });
      const clones = [newId(IdPrefix.Session), newId(IdPrefix.Session)];
      for (const sessionId of clones) {
        await ctx.dataSource.transaction((m) =>
          ctx.agents.cloneWith(m, original, newId(IdPrefix.Agent), sessionId, 'someone'),
        );
      }
      expect(original.bundleSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(await bundleRows(original.bundleSha256)).toBe(1);

      await ctx.dataSource.transaction((m) =>
        ctx.agents.deleteOwnedBy(m, [ownerSession, clones[0]]),
      );
      expect(await bundleRows(original.bundleSha256)).toBe(1);
      await ctx.dataSource.transaction((m) => ctx.agents.deleteOwnedBy(m, [clones[1]]));
      expect(await bundleRows(original.bundleSha256)).toBe(0);
    });

    it('should keep a bundle that an insert shares while its last agent is deleted', async () => {
      for (let round = 0; round < 5; round++) {
        const bundle = uniqueBundle();
        const ownerSession = newId(IdPrefix.Session);
        await ctx.newAgent({ ownerSessionId: ownerSession, bundle });

        const [, twin] = await Promise.all([
          ctx.dataSource.transaction((m) => ctx.agents.deleteOwnedBy(m, [ownerSession])),
          // In its own transaction, as every caller inserts agents.
          ctx.dataSource.transaction((m) =>
            ctx.agents.insertWith(
              m,
              agentFactory({ ownerSessionId: newId(IdPrefix.Session), bundle }),
            ),
          ),
        ]);

        await expect(ctx.agents.getBundle(twin.id)).resolves.toEqual(bundle);
      }
    });
  });
});
