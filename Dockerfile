# dirsync service image: the API and the worker (choose with the command).
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY common ./common
COPY db ./db
COPY api ./api
COPY worker ./worker
COPY cli ./cli
COPY bin ./bin
COPY main.ts ./
COPY service.ts ./
USER node
EXPOSE 8080
ENV HOST=0.0.0.0 PORT=8080
CMD ["node", "main.ts"]
