# syntax=docker/dockerfile:1
# render-upload: build with the full toolchain, run with production
# dependencies only, as a non-root user. The exec-form CMD makes node itself
# PID 1, so SIGTERM reaches the service's shutdown handler (npm start would
# not forward it).

FROM node:24-bookworm-slim AS build
WORKDIR /app
# The native SHA-256 state addon (native/) needs a C toolchain; Node's headers
# come with the image (/usr/local/include/node).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY binding.gyp ./
COPY native ./native
COPY scripts/build-native.sh ./scripts/
RUN bash scripts/build-native.sh
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/Release/sha256_state.node ./build/Release/
COPY package.json ./
# The async spool and the file-backed status store; mount a volume here so
# accepted async uploads survive the container.
RUN mkdir -p /app/var && chown node:node /app/var \
  && printf '#!/bin/sh\nexec node /app/dist/cli/main.js "$@"\n' > /usr/local/bin/render-upload \
  && chmod 755 /usr/local/bin/render-upload
VOLUME ["/app/var"]
USER node
EXPOSE 8080
# The gRPC health service, checked by the bundled probe.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/health-probe.js"]
# OpenTelemetry starts before the app; it exports only what OTEL_* asks for.
CMD ["node", "--import", "./dist/telemetry/instrument.js", "dist/main.js"]
