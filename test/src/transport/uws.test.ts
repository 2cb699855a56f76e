import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { loadUws, StartupError, uwsBinaryPath, currentHost } from '../../../src/transport/uws.js';

describe('loadUws', () => {
  it('loads the native binary for this Node (not the JS fallback) and can listen', async () => {
    const uws = loadUws();
    expect(typeof uws.SSLApp).toBe('function');
    const app = uws.App();
    const port = await new Promise<number>((resolve, reject) => {
      app.listen('127.0.0.1', 0, (s) => {
        if (s === false) reject(new Error('listen failed'));
        else {
          const p = uws.us_socket_local_port(s);
          uws.us_listen_socket_close(s);
          resolve(p);
        }
      });
    });
    expect(port).toBeGreaterThan(0);
  });

  it('names the file, ABI and glibc when the binary is missing', () => {
    const host = { platform: 'linux', arch: 'x64', modules: '999', glibc: '2.17' };
    const load = createRequire(import.meta.url);
    let err: unknown;
    try {
      loadUws(host, load);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StartupError);
    const e = err as StartupError;
    expect(e.code).toBe('UWS_NATIVE_LOAD');
    expect(e.message).toContain('uws_linux_x64_999.node');
    expect(e.message).toContain('ABI 999');
    expect(e.message).toContain('glibc 2.17');
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('refuses the JS fallback implementation', () => {
    const load = createRequire(import.meta.url);
    const fallback = () => load('uWebSockets.js/dist/index.js');
    expect(() => loadUws(currentHost(), fallback)).toThrow(expect.objectContaining({ code: 'UWS_NOT_NATIVE' }));
  });

  it('builds the binary path from platform, arch and ABI', () => {
    expect(uwsBinaryPath({ platform: 'darwin', arch: 'arm64', modules: '115' })).toBe('uWebSockets.js/binaries/uws_darwin_arm64_115.node');
  });
});
