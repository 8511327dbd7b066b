# syntax=docker/dockerfile:1
# One image for the API, the worker, the inbound mail endpoint and migrations; the command picks the role:
#   node dist/api/main.js (default) | node dist/worker/main.js | node dist/mail/main.js | node dist/db/migrate.js
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies, compile TypeScript into dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# npm in the node:20 image ignores package.json's "allowScripts" (npm 11) and runs install scripts.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- prod-deps: production dependencies only (@temporalio/worker's webpack/swc stay for a worker
# started without WORKFLOW_BUNDLE, which bundles dist/workflows when it starts) ---
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The workflow bundle built by npm run build: the worker polls at once and keeps no webpack memory.
ENV WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# Read at runtime from <project root>/db/migrations by dist/db/migrate.js.
COPY db/migrations ./db/migrations
# Read at start by dist/lib/mail-templates.js from <project root>/mail-templates.
COPY mail-templates ./mail-templates
# Files stay root-owned and read-only to the process; it runs as the image's unprivileged user.
USER node
EXPOSE 3000 2525
CMD ["node", "dist/api/main.js"]
