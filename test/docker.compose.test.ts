// docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they
// are checked by reading: the compose file parses, every service the set-up needs is
// there, dependencies name real services, commands name real entry points, and the
// image copies every folder the service imports from.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  ports?: string[];
  healthcheck?: unknown;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};

describe('docker-compose.yml', () => {
  it('has Postgres, Redis, a migration, the API and a worker, wired to each other', () => {
    const { services } = compose;
    expect(Object.keys(services).sort()).toEqual(['api', 'migrate', 'postgres', 'redis', 'worker']);
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {}))
        expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
      if (service.build) {
        const entry = service.command?.find((arg) => arg.endsWith('.ts'));
        expect(existsSync(new URL(entry!, root)), `${name} runs ${entry}`).toBe(true);
        expect(service.environment?.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
        expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      }
    }
    expect(services.api!.depends_on).toMatchObject({
      migrate: { condition: 'service_completed_successfully' },
    });
    expect(services.worker!.depends_on).toMatchObject({
      migrate: { condition: 'service_completed_successfully' },
    });
  });

  it('publishes the public listener only; the internal one on the host loopback', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => `${name} ${p}`),
    );
    expect(published.sort()).toEqual(['api 127.0.0.1:8081:8081', 'api 8080:8080']);
    const api = compose.services.api!.environment!;
    expect([api.PORT, api.ADMIN_PORT]).toEqual(['8080', '8081']);
  });

  it('runs the worker with the V8 flags of npm run start:worker', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
      .scripts;
    // The script execs node (so npm's signals reach it); the container runs node itself.
    expect(compose.services.worker!.command!.join(' ')).toBe(
      scripts['start:worker']!.replace(/^exec /, ''),
    );
  });

  it('gives the services longer to stop than their own shutdown timeout (10 s)', () => {
    for (const name of ['api', 'worker']) {
      const grace = compose.services[name]!.stop_grace_period;
      expect(grace, name).toMatch(/^\d+s$/);
      expect(Number.parseInt(grace!, 10), name).toBeGreaterThan(10);
    }
  });
});

describe('Dockerfile', () => {
  it('copies every top-level folder the service imports from, and runs on Node 24', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^FROM node:24[-\w.]*/m);
    const copied = [...dockerfile.matchAll(/^COPY (\S+) /gm)].map((m) => m[1]);
    for (const folder of ['common', 'db', 'api', 'worker', 'cli', 'bin'])
      expect(copied, folder).toContain(folder);
    for (const file of ['main.ts', 'service.ts']) expect(copied, file).toContain(file);
    expect(read('.dockerignore').split('\n')).toEqual(
      expect.arrayContaining(['node_modules', '.git']),
    );
  });
});
