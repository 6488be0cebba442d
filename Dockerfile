# syntax=docker/dockerfile:1

# --- build: compile TypeScript, then keep only production dependencies ---------------------
# Node 22 LTS (20 is past its end of life); the app itself still runs on Node 20.19+.
FROM node:22-bookworm-slim AS build
# node-pty (the runner's terminals) is compiled by node-gyp during npm ci.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY clients/typescript/package.json ./clients/typescript/
COPY console/package.json ./console/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY clients/typescript ./clients/typescript
COPY console ./console
# The build ends with dist/omnigent.cjs, the server in one file (bin/bundle.js, esbuild, a dev
# dependency), which bin/omnigent.js runs: a warm start reads one file, not ~1,900 modules.
RUN npm run build && npm prune --omit=dev
# Prime the V8 code cache (node_modules/.cache/omnigent, copied below) so the first start of a
# read-only container is warm too: sync-openapi loads the whole server (the bundle) without a
# database (its openapi.json stays in this stage). Same Node image as the runtime, so the cache
# is valid there.
RUN node bin/omnigent.js sync-openapi > /dev/null && rm -f openapi.json

# --- runtime: slim image, non-root, healthchecked ---------------------------------------------
FROM node:22-bookworm-slim AS runtime
# bubblewrap sandboxes the local runner's tools. Under Docker's default seccomp profile it cannot
# create namespaces: the runner then says so at start-up, and in jwt mode the local runner stays
# off (docs/SECURITY.md).
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*
# JSON logs; on SIGTERM /ready answers 503 for 5 s before the server closes (give the container
# a stop grace period above ~10 s: `docker stop -t 30`, Kubernetes' default 30 s is fine).
ENV NODE_ENV=production \
    OMNIGENT_PORT=6767 \
    OMNIGENT_DATA_DIR=/data \
    OMNIGENT_LOG_FORMAT=json \
    OMNIGENT_DRAIN_MS=5000
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
# dist/omnigent.cjs (and its .map, for NODE_OPTIONS=--enable-source-maps) with dist/src: the
# bundle finds what it keeps outside (node-pty, PGlite, swagger-ui…) in node_modules, and files
# read beside a module (the runner's fs-worker.js) in dist/src.
COPY --from=build --chown=node:node /app/dist ./dist
# The CLI's chat runs on the client workspace (node_modules/@omnigent-server/client links here).
COPY --from=build --chown=node:node /app/clients ./clients
# The web console's static files, served at /ui.
COPY --from=build --chown=node:node /app/console/dist ./console/dist
COPY --chown=node:node package.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node agents ./agents
COPY --chown=node:node docker/entrypoint.sh ./docker/entrypoint.sh
RUN mkdir -p /data && chown node:node /data && chmod +x ./docker/entrypoint.sh
USER node
VOLUME ["/data"]
EXPOSE 6767
# Readiness, not liveness: unhealthy while the database is unreachable or the server drains.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.OMNIGENT_PORT||6767)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The entrypoint execs node, so the signal reaches the server, which drains and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["./docker/entrypoint.sh"]
