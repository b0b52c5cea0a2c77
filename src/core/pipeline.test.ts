import { describe, expect, it } from 'vitest';
import type { Session } from './session.js';
import type { Upstream } from '../upstream/index.js';
import {
  pipeline,
  runPipeline,
  type CallStart,
  type CallState,
  type Resolved,
  type Routed,
  type Stage
} from './pipeline.js';

const start = (): CallState => ({ session: {} as Session, name: 's__t', args: {}, risk: 0 });

const route: Stage<CallStart, Routed> = {
  name: 'route',
  run(ctx) {
    ctx.server = 's';
    ctx.tool = 't';
    ctx.upstream = {} as Upstream;
  }
};
const flag: Stage<Routed> = {
  name: 'flag',
  run(ctx) {
    ctx.risk += 5;
  }
};
const later: Stage<Resolved> = { name: 'later', run: () => undefined };

describe('the pipeline', () => {
  it('runs stages in order, and a stage that finishes synchronously is not awaited', () => {
    const order: string[] = [];
    const stages = pipeline()
      .advance<Routed>({ ...route, run: (ctx) => (order.push('route'), route.run(ctx)) })
      .use({ name: 'flag', run: (ctx) => (order.push('flag'), flag.run(ctx)) }).stages;
    const ctx = start();
    void runPipeline(stages, ctx);
    // Before any await: every synchronous stage has already run.
    expect(order).toEqual(['route', 'flag']);
    expect(ctx).toMatchObject({ server: 's', tool: 't', risk: 5 });
  });

  it('waits for a stage that returns a promise, and stops at the first that throws', async () => {
    const order: string[] = [];
    const stages = pipeline()
      .use({ name: 'slow', run: () => Promise.resolve().then(() => void order.push('slow')) })
      .use({
        name: 'refuse',
        run: () => {
          order.push('refuse');
          throw new Error('no');
        }
      })
      .use({ name: 'never', run: () => void order.push('never') }).stages;
    await expect(runPipeline(stages, start())).rejects.toThrow('no');
    expect(order).toEqual(['slow', 'refuse']);
  });

  it('leaves out a stage the config switched off', () => {
    const stages = pipeline().use(undefined).advance(route).use(flag).stages;
    expect(stages.map((s) => s.name)).toEqual(['route', 'flag']);
  });

  it('does not compile a stage that reads what no earlier stage sets', () => {
    const built = () =>
      pipeline()
        // @ts-expect-error: `flag` reads the server and tool, which only `route` sets.
        .use(flag)
        .advance(route)
        // @ts-expect-error: `later` reads the decision and the tool's definition; nothing set them.
        .use(later);
    expect(built).toBeTypeOf('function');
  });
});
