// What the server tells devices and dashboards about models and task packs, from the model registry
// and the artifact store (src/storage). Clinic scoping is by artifact key: a patient model's artifact
// id and a task pack's key start with `<kind>/<clinic>/` (convention shared with the job workers,
// see /work/notes/server-ready.md); anything else is not listed for a clinic.
import type { ArtifactStore } from '../storage/artifact-store.js';
import { clinicPrefix, MODELS_PREFIX, TASKPACKS_PREFIX } from '../storage/keys.js';
import type { ModelRegistry } from '../storage/model-registry.js';
import type { ModelChooser, ModelRef } from './types.js';

export { MODELS_PREFIX, TASKPACKS_PREFIX } from '../storage/keys.js';
/** Listing is bounded: the newest this many entries per request (keys sort by name). */
export const MAX_LISTED = 500;

export interface CatalogOptions {
  readonly registry: ModelRegistry;
  readonly artifacts: ArtifactStore;
  /** The shipped model that serves patients without their own. */
  readonly pretrained: ModelRef;
  readonly logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

export interface ModelListing extends ModelRef {
  readonly patientId?: string;
  readonly sha256?: string;
}

export interface Catalog extends ModelChooser {
  listModels(clinic: string): Promise<ModelListing[]>;
  listTaskpacks(clinic: string): Promise<{ id: string; key: string }[]>;
  getTaskpack(clinic: string, id: string): Promise<unknown | undefined>;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.=-]{0,127}$/;

export function createCatalog(o: CatalogOptions): Catalog {
  const toWire = (ref: { id: string; version: number; kind: string }): ModelRef => ({
    id: ref.id,
    kind: ref.kind === 'pretrained' ? 'pretrained' : 'patient',
    version: String(ref.version),
  });
  return {
    async modelFor(clinic, patientId) {
      // The patient's own model when one is registered for this clinic, else the pretrained one.
      const ref = await o.registry.get(patientId).catch((cause: unknown) => {
        o.logger?.warn('model registry lookup failed; serving the pretrained model', { patientId, cause: String(cause) });
        return undefined;
      });
      return ref && ref.id.startsWith(clinicPrefix(MODELS_PREFIX, clinic)) ? toWire(ref) : o.pretrained;
    },
    async listModels(clinic) {
      const own = (await o.registry.list())
        .filter((u) => u.ref.id.startsWith(clinicPrefix(MODELS_PREFIX, clinic)))
        .slice(0, MAX_LISTED)
        .map((u): ModelListing => ({ ...toWire(u.ref), patientId: u.patientId, sha256: u.ref.sha256 }));
      return [o.pretrained, ...own];
    },
    async listTaskpacks(clinic) {
      const prefix = clinicPrefix(TASKPACKS_PREFIX, clinic);
      const keys = (await o.artifacts.list(prefix)).filter((k) => k.endsWith('.json'));
      return keys.slice(-MAX_LISTED).map((key) => ({ id: key.slice(prefix.length, -'.json'.length), key }));
    },
    async getTaskpack(clinic, id) {
      if (!SAFE_ID.test(id)) return undefined;
      // `id` is a listed key segment (already escaped by keys.ts), so it is not escaped again.
      const key = `${clinicPrefix(TASKPACKS_PREFIX, clinic)}${id}.json`;
      if (!(await o.artifacts.has(key))) return undefined;
      return JSON.parse(new TextDecoder().decode(await o.artifacts.get(key))) as unknown;
    },
  };
}

/** The catalog in the shape createServer's deps take (models + taskpacks). */
export function catalogDeps(c: Catalog) {
  return {
    models: { modelFor: c.modelFor, list: (clinic: string) => c.listModels(clinic) },
    taskpacks: { list: (clinic: string) => c.listTaskpacks(clinic), get: (clinic: string, id: string) => c.getTaskpack(clinic, id) },
  };
}
