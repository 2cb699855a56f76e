import { describe, expect, it } from 'vitest';
import { JobErrorCode } from '../../../src/jobs/errors.js';
import { createInProcessBus } from '../../../src/jobs/in-process-bus.js';
import { JobSubject } from '../../../src/jobs/job-bus.js';
import { jobBusSuite } from './job-bus.suite.js';
import { completed, taskpackRequest } from './payloads.js';

jobBusSuite('in-process', async () => {
  const bus = createInProcessBus();
  return { bus, dispose: () => bus.close() };
});

describe('in-process bus bounds', () => {
  it('rejects with BUS_FULL at maxQueued and accepts again once jobs are acked', async () => {
    const bus = createInProcessBus({ maxQueued: 2 });
    const S = JobSubject.TASKPACK_REQUESTED;
    await bus.publish(S, taskpackRequest('1'), { id: 'a' });
    await bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed('2'), { id: 'b' });
    await expect(bus.publish(S, taskpackRequest('3'), { id: 'c' })).rejects.toMatchObject({ code: JobErrorCode.BUS_FULL });
    // A rejected id was not remembered: publishing it later is not a "duplicate".
    const c = await bus.consume(S, async () => undefined);
    await c.stop();
    expect(await bus.publish(S, taskpackRequest('3'), { id: 'c' })).toEqual({ status: 'sent', duplicate: false });
    await bus.close();
    await expect(bus.publish(S, taskpackRequest('4'), { id: 'd' })).rejects.toMatchObject({ code: JobErrorCode.CLOSED });
  });
});
