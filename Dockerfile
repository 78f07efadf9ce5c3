# syntax=docker/dockerfile:1
# One image, two processes: `node dist/apps/api/src/main.js` (default) and
# `node dist/apps/worker/src/main.js`. Needs DATABASE_URL, JWT_SECRET, ENCRYPTION_KEY.
# Node 24 LTS: production's Node (dependencies need >= 22; Node 20 is past its end of life).

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim AS runtime
# MALLOC_ARENA_MAX and --max-semi-space-size act before any JavaScript runs, so the processes cannot
# set them themselves: libs/core/src/runtime/launch-env.ts (LAUNCH_ENV) says why (on Node 24 the api's
# bar-close peak is ~80 MB lower with them), and a test keeps this line equal to it. Both processes
# warn at start in production when run without them.
ENV NODE_ENV=production PORT=3000 MALLOC_ARENA_MAX=2 NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/api/src/main.js"]
