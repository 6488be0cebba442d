import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_PATH, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { sign } from 'jsonwebtoken';

import { AUTH_REQUIREMENT, AuthRequirement } from 'src/common/auth/auth.decorators';
import { TestApp, useTestApp } from 'test/e2e/create-app';

const SECRET = 'routes-auth-e2e-secret-0123456789abcdef';

/** The only routes that may be @Public() (spec/README.md §5; /docs and /openapi.json are not controllers). */
// /metrics and /ready are public by design (spec/README.md §5); /metrics can require a token.
const PUBLIC_ALLOW_LIST = [
  'GET /health',
  'GET /api/version',
  'GET /v1/info',
  'GET /metrics',
  'GET /ready',
];

/**
 * What Swagger registers outside the controllers, and the request logger (nestjs-pino), which Nest
 * mounts as a middleware route on every path.
 */
const isSwaggerPath = (path: string) =>
  path === '/docs' ||
  path.startsWith('/docs/') ||
  /^\/openapi\.(json|yaml)$/.test(path) ||
  path === '{/*splat}';

interface ControllerRoute {
  /** `GET /v1/sessions/:session_id` */
  key: string;
  method: string;
  path: string;
  handlerName: string;
  requirement: unknown;
  problem?: string;
}

function asArray(value: string | string[] | undefined): string[] {
  if (value === undefined) {
    return [''];
  }
  return Array.isArray(value) ? value : [value];
}

function joinPath(...segments: string[]): string {
  const joined = segments
    .map((s) => s.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/');
  return `/${joined}`;
}

/** Every handler of every controller in the app, with its HTTP method, full path and auth rule. */
function controllerRoutes(t: TestApp): ControllerRoute[] {
  const modules = t.app.get(ModulesContainer);
  const discovery = new DiscoveryService(modules);
  const scanner = new MetadataScanner();
  const reflector = new Reflector();
  const routes: ControllerRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
    if (!controller) {
      continue;
    }
    const moduleClass = wrapper.host?.metatype;
    const modulePath: string | undefined = moduleClass
      ? (Reflect.getMetadata(MODULE_PATH + modules.applicationId, moduleClass) ??
        Reflect.getMetadata(MODULE_PATH, moduleClass))
      : undefined;
    const classRequirement: unknown = Reflect.getMetadata(AUTH_REQUIREMENT, controller);
    for (const name of scanner.getAllMethodNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name] as () => unknown;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) {
        continue;
      }
      const handlerRequirement: unknown = Reflect.getMetadata(AUTH_REQUIREMENT, handler);
      const requirement = reflector.getAllAndOverride<unknown>(AUTH_REQUIREMENT, [
        handler,
        controller,
      ]);
      let problem: string | undefined;
      if (requirement === undefined) {
        problem = 'declares no auth requirement';
      } else if (!Object.values(AuthRequirement).includes(requirement as AuthRequirement)) {
        problem = `declares an unknown auth requirement ${String(requirement)}`;
      } else if (handlerRequirement !== undefined && classRequirement !== undefined) {
        problem = `declares ${String(handlerRequirement)} on the handler and ${String(classRequirement)} on the controller`;
      }
      for (const controllerPath of asArray(Reflect.getMetadata(PATH_METADATA, controller))) {
        for (const handlerPath of asArray(Reflect.getMetadata(PATH_METADATA, handler))) {
          const path = joinPath(modulePath ?? '', controllerPath, handlerPath);
          const verb = RequestMethod[method];
          routes.push({
            key: `${verb} ${path}`,
            method: verb,
            path,
            handlerName: `${controller.name}.${name}`,
            requirement,
            problem,
          });
        }
      }
    }
  }
  return routes;
}

interface ExpressLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** What Express actually serves: `GET /v1/me`, … (`ALL` for `@All()`). */
function servedRoutes(t: TestApp): string[] {
  const express = t.app.getHttpAdapter().getInstance() as {
    router?: { stack: ExpressLayer[] };
    _router?: { stack: ExpressLayer[] };
  };
  const stack = (express.router ?? express._router)?.stack ?? [];
  return stack.flatMap(({ route }) =>
    route
      ? asArray(route.path).flatMap((path) =>
          Object.keys(route.methods)
            .filter((m) => route.methods[m])
            .map((m) => `${m === '_all' ? 'ALL' : m.toUpperCase()} ${path}`),
        )
      : [],
  );
}

const HEX32 = '0123456789abcdef0123456789abcdef';

/**
 * Concrete URLs for a route pattern. First every parameter or wildcard becomes `x`; then a
 * well-formed id guessed from the parameter name (`:runner_id` → `runner_<32 hex>`), for routes
 * whose id pipe answers 404 before the service can check a machine credential.
 */
function concreteUrls(path: string): string[] {
  const fill = (param: (name: string) => string) =>
    path
      .replace(/\{\*[^}]+\}/g, 'x')
      .replace(/\*[A-Za-z0-9_$]*/g, 'x')
      .replace(/(?<!\\):([A-Za-z0-9_$]+)/g, (_match, name: string) => param(name))
      .replace(/[{}]/g, '')
      // An escaped colon is a literal one (`files\:copy`).
      .replace(/\\:/g, ':');
  const first = fill(() => 'x');
  const second = fill((name) => `${name.replace(/_?id$/, '')}_${HEX32}`);
  return first === second ? [first] : [first, second];
}

/** A status, or 'stream' when the response never ended (an SSE route that let the caller in). */
type Outcome = number | 'stream';

describe('route auth requirements (style rule 13)', () => {
  let routes: ControllerRoute[];

  const t = useTestApp('postgres', { OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: SECRET });
  beforeAll(async () => {
    routes = controllerRoutes(t);
  });

  const byRequirement = (...requirements: AuthRequirement[]) =>
    routes.filter((r) => requirements.includes(r.requirement as AuthRequirement));
  const guarded = () =>
    routes.filter(
      (r) => r.requirement !== AuthRequirement.Public && r.requirement !== AuthRequirement.Machine,
    );

  async function probe(method: string, url: string, token?: string): Promise<Outcome> {
    const verb = method === 'ALL' ? 'get' : method.toLowerCase();
    const agent = t.http as unknown as Record<
      string,
      (url: string) => ReturnType<typeof t.http.get>
    >;
    let req = agent[verb](url).timeout({ deadline: 3000 });
    if (token) {
      req = req.set('Authorization', `Bearer ${token}`);
    }
    try {
      return (await req).status;
    } catch (error) {
      if ((error as { timeout?: number }).timeout) {
        return 'stream';
      }
      throw error;
    }
  }

  /** Calls every route with `token` and lists those whose outcome `ok` rejects. */
  async function failures(
    list: ControllerRoute[],
    token: string | undefined,
    ok: (outcomes: Outcome[], route: ControllerRoute) => boolean,
  ): Promise<string[]> {
    const found: string[] = [];
    for (const route of list) {
      const urls = concreteUrls(route.path);
      const outcomes: Outcome[] = [];
      for (const url of urls) {
        outcomes.push(await probe(route.method, url, token));
      }
      if (!ok(outcomes, route)) {
        found.push(`${route.key} (${route.handlerName}) → ${outcomes.join(', ')}`);
      }
    }
    return found;
  }

  const now = () => Math.floor(Date.now() / 1000);

  it('should find the controller routes', () => {
    expect(routes.length).toBeGreaterThan(0);
    expect(routes.map((r) => r.key)).toEqual(expect.arrayContaining(['GET /v1/me']));
  });

  it('should serve exactly the controller routes besides the swagger routes', () => {
    const served = servedRoutes(t);
    const declared = routes.map((r) => r.key);
    expect(declared.filter((key) => !served.includes(key))).toEqual([]);
    expect(
      served.filter((key) => !declared.includes(key) && !isSwaggerPath(key.split(' ')[1])),
    ).toEqual([]);
  });

  it('should give every route exactly one auth requirement', () => {
    expect(
      routes.filter((r) => r.problem).map((r) => `${r.key} (${r.handlerName}) ${r.problem}`),
    ).toEqual([]);
  });

  it('should make only the allow-listed routes public', async () => {
    const publicRoutes = byRequirement(AuthRequirement.Public);
    expect(
      publicRoutes.map((r) => r.key).filter((key) => !PUBLIC_ALLOW_LIST.includes(key)),
    ).toEqual([]);
    expect(
      await failures(publicRoutes, undefined, (outcomes) =>
        outcomes.every((o) => o !== 401 && o !== 403),
      ),
    ).toEqual([]);
  });

  it('should answer 401 without a token on every guarded route', async () => {
    expect(guarded().length).toBeGreaterThan(0);
    expect(
      await failures(guarded(), undefined, (outcomes) => outcomes.every((o) => o === 401)),
    ).toEqual([]);
  });

  it('should answer 401 with a forged token on every guarded route', async () => {
    const forged = sign({ sub: 'mallory', exp: now() + 300 }, 'x'.repeat(40));
    expect(
      await failures(guarded(), forged, (outcomes) => outcomes.every((o) => o === 401)),
    ).toEqual([]);
  });

  it('should let a user token past the guard, except on admin routes (403)', async () => {
    const user = sign({ sub: 'routes-auth-user', exp: now() + 300 }, SECRET);
    expect(
      await failures(guarded(), user, (outcomes, route) =>
        route.requirement === AuthRequirement.Admin
          ? outcomes.every((o) => o === 403)
          : outcomes.every((o) => o !== 401 && o !== 403),
      ),
    ).toEqual([]);
  });

  it('should answer 401 on machine-credential routes without the credential, even to a user', async () => {
    const user = sign({ sub: 'routes-auth-user', exp: now() + 300 }, SECRET);
    const machine = byRequirement(AuthRequirement.Machine);
    // A placeholder id may be refused with 404 by the id pipe, before the service checks the
    // credential; at least one well-formed guess must reach that check and get 401.
    const refuses = (outcomes: Outcome[]) =>
      outcomes.includes(401) && outcomes.every((o) => o === 401 || o === 404);
    expect(await failures(machine, undefined, refuses)).toEqual([]);
    expect(await failures(machine, user, refuses)).toEqual([]);
  });
});
