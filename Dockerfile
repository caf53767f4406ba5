# syntax=docker/dockerfile:1
# The whopq relay as a container: `docker build -t whopq .` then
#   docker run -p 8787:8787 -v whopq-data:/data -e WHOP_API_KEY=… -e WHOP_COMPANY_ID=biz_… whopq
# The image holds the package exactly as npm would install it (packed, then installed from the tarball).

# 1. Build and pack the package (prepack builds dist/).
FROM node:22-bookworm-slim AS pack
WORKDIR /src
COPY package.json package-lock.json ./
# Dev dependencies only build the package; no install scripts are needed for that.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN mkdir /out && npm pack --pack-destination /out && mv /out/whopq-*.tgz /out/whopq.tgz

# 2. Install the tarball with its runtime dependencies; better-sqlite3 is native, built here if no
# prebuilt binary downloads.
FROM node:22-bookworm-slim AS install
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=pack /out/whopq.tgz /tmp/whopq.tgz
RUN echo '{"name":"whopq-relay","private":true,"type":"module"}' > package.json \
  && npm install --omit=dev --no-audit --no-fund /tmp/whopq.tgz \
  && rm /tmp/whopq.tgz \
  && npm cache clean --force

# 3. The runtime: no compiler, no npm cache, not root.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787 \
    WHOPQ_DATA_DIR=/data
WORKDIR /app
COPY --from=install --chown=root:root /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8787) + (process.env.WHOPQ_BASE_PATH || '/wq') + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 and handles SIGTERM: requests in flight are answered, the store is closed.
CMD ["node", "node_modules/whopq/bin/whopq.mjs", "relay"]
