# syntax=docker/dockerfile:1
# Node runs the TypeScript sources directly (type stripping), so there is no compile stage:
# the first stage only installs production dependencies. The Node image is pinned to the
# version the tests run on (.node-version names the major; bump both together).
FROM node:24.21.0-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The outpost only: .dockerignore leaves out the development core (src/devcore), the demo
# (src/demo) and their seeds with their users' passwords (config/demo.yaml,
# config/devcore-test.yaml); test/image.test.ts checks that src/main.ts never needs them.
FROM node:24.21.0-slim
ENV NODE_ENV=production
# A smaller young generation keeps RSS down with large cached directories (100k users: ~270 MB).
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY config ./config
ARG GIT_BUILD_HASH=""
ENV GIT_BUILD_HASH=${GIT_BUILD_HASH}
# proxy http/https, ldap/ldaps, radius, metrics
EXPOSE 9000 9443 3389 6636 1812/udp 9300
USER node
# The healthcheck gives up after 2 s, within --timeout, so that its one-line reason reaches
# `docker inspect`.
HEALTHCHECK --interval=5s --timeout=3s --start-period=3s --retries=20 \
  CMD ["node", "src/main.ts", "healthcheck"]
ENTRYPOINT ["node", "src/main.ts"]
