import { describe, expect, it } from 'vitest';
import { MetricsRegistry, createServerMetrics } from '../../../src/metrics.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and cumulative histograms in Prometheus text format', () => {
    const r = new MetricsRegistry();
    const c = r.counter('x_total', 'X things');
    const g = r.gauge('depth', 'Depth');
    const h = r.histogram('size', 'Size', [1, 4, 16]);
    c.inc({ code: 'A' });
    c.inc({ code: 'A' }, 2);
    c.inc({ code: 'B"q' });
    g.set({}, 7);
    for (const v of [1, 2, 5, 100]) h.observe(v);
    expect(r.render()).toBe(
      [
        '# HELP x_total X things',
        '# TYPE x_total counter',
        'x_total{code="A"} 3',
        'x_total{code="B\\"q"} 1',
        '# HELP depth Depth',
        '# TYPE depth gauge',
        'depth 7',
        '# HELP size Size',
        '# TYPE size histogram',
        'size_bucket{le="1"} 1',
        'size_bucket{le="4"} 2',
        'size_bucket{le="16"} 3',
        'size_bucket{le="+Inf"} 4',
        'size_sum 108',
        'size_count 4',
        '',
      ].join('\n'),
    );
  });

  it('escapes backslash, newline and quote in label values, and orders several labels by name', () => {
    const r = new MetricsRegistry();
    const c = r.counter('y_total', 'Y things');
    c.inc({ z: 'a\\b\nc"d', a: 'plain' });
    c.inc({ a: 'plain', z: 'a\\b\nc"d' }); // the same series, whatever the key order
    expect(r.render()).toContain('y_total{a="plain",z="a\\\\b\\nc\\"d"} 2\n');
    expect(c.get({ z: 'a\\b\nc"d', a: 'plain' })).toBe(2);
  });

  it('samples collected gauges at render time and bounds label cardinality', () => {
    const r = new MetricsRegistry(2);
    let n = 1;
    r.gauge('live', 'Live').collect(() => [[{ backend: 'wasm' }, n]]);
    const c = r.counter('e_total', 'E');
    for (let i = 0; i < 10; i++) c.inc({ code: `C${i}` });
    n = 5;
    const text = r.render();
    expect(text).toContain('live{backend="wasm"} 5');
    expect(text).toContain('e_total{overflow="true"} 8');
    expect(text.match(/^e_total\{/gm)).toHaveLength(3);
  });

  it('refuses duplicate or invalid names', () => {
    const r = new MetricsRegistry();
    r.counter('a', 'a');
    expect(() => r.counter('a', 'again')).toThrow(TypeError);
    expect(() => r.gauge('bad-name', 'x')).toThrow(TypeError);
  });

  it('the server metric set renders every required family', () => {
    const m = createServerMetrics();
    const text = m.registry.render();
    for (const name of [
      'jepa_live_sessions',
      'jepa_frames_total',
      'jepa_inference_batch_size',
      'jepa_inference_latency_seconds',
      'jepa_inference_queue_depth',
      'jepa_inference_shed_total',
      'jepa_live_dropped_updates_total',
      'jepa_inference_backend',
      'jepa_errors_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });
});
