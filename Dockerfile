# Tributary image: one build, four entry points. The default command runs every role in one process;
# docker-compose.yml runs the roles as separate services from this same image.
#
#   docker build -t tributary .
#   docker run -e TRIBUTARY_DATABASE_URL=postgres://... -v $PWD/tributary.yaml:/app/tributary.yaml -p 3000:3000 tributary

FROM node:20 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
COPY migrations migrations
RUN npm run build

FROM node:20
ENV NODE_ENV=production \
    TRIBUTARY_API_HOST=0.0.0.0 \
    TRIBUTARY_DATA_DIR=/data/tributary
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && mkdir -p /data && chown node:node /data
COPY --from=build /app/dist dist
USER node
EXPOSE 3000
# Other entry points: dist/apps/api/src/main.js, dist/apps/capture/src/main.js,
# dist/apps/worker/src/main.js, dist/apps/tributary/src/migrate.js.
CMD ["node", "dist/apps/tributary/src/main.js"]
