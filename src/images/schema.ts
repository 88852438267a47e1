/**
 * JSON Schemas for what the image code reads from outside: OCI and Docker v2 schema 2
 * manifests and indexes, image configs, and `docker save`'s manifest.json. Nothing from a
 * registry or an archive is used before it passed one of these (src/validators.ts).
 * Unknown keys are allowed, as the specs require readers to ignore them.
 */
const DIGEST = {type: 'string', pattern: '^sha256:[a-f0-9]{64}$'}
const MEDIA = {type: 'string', maxLength: 255, pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$'}
const SIZE = {type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER}
const STRMAP = {type: 'object', additionalProperties: {type: 'string'}}

const DESCRIPTOR = {
  type: 'object',
  required: ['mediaType', 'digest', 'size'],
  properties: {
    mediaType: MEDIA,
    digest: DIGEST,
    size: SIZE,
    urls: {type: 'array', items: {type: 'string'}},
    annotations: STRMAP,
    platform: {
      type: 'object',
      required: ['architecture', 'os'],
      properties: {architecture: {type: 'string', maxLength: 64}, os: {type: 'string', maxLength: 64}, variant: {type: 'string', maxLength: 64}, 'os.version': {type: 'string'}},
    },
  },
}

export const IMAGE_MANIFEST_SCHEMA = {
  type: 'object',
  required: ['schemaVersion', 'config', 'layers'],
  properties: {
    schemaVersion: {const: 2},
    mediaType: MEDIA,
    config: DESCRIPTOR,
    layers: {type: 'array', maxItems: 500, items: DESCRIPTOR},
    annotations: STRMAP,
  },
}

export const IMAGE_INDEX_SCHEMA = {
  type: 'object',
  required: ['schemaVersion', 'manifests'],
  properties: {
    schemaVersion: {const: 2},
    mediaType: MEDIA,
    manifests: {type: 'array', maxItems: 1000, items: DESCRIPTOR},
    annotations: STRMAP,
  },
}

const HEALTH = {type: 'object'}
const RUN_CONFIG = {
  type: 'object',
  properties: {
    User: {type: 'string', maxLength: 256},
    ExposedPorts: {type: ['object', 'null'], propertyNames: {pattern: '^[0-9]{1,5}(-[0-9]{1,5})?(/(tcp|udp|sctp))?$'}},
    Env: {type: ['array', 'null'], maxItems: 4096, items: {type: 'string', maxLength: 131072}},
    Entrypoint: {type: ['array', 'null'], maxItems: 4096, items: {type: 'string'}},
    Cmd: {type: ['array', 'null'], maxItems: 4096, items: {type: 'string'}},
    Volumes: {type: ['object', 'null']},
    WorkingDir: {type: 'string', maxLength: 4096},
    Labels: {type: ['object', 'null'], additionalProperties: {type: 'string'}},
    StopSignal: {type: 'string', maxLength: 32},
    Healthcheck: HEALTH,
  },
}

export const IMAGE_CONFIG_SCHEMA = {
  type: 'object',
  required: ['architecture', 'os', 'rootfs'],
  properties: {
    created: {type: 'string'},
    author: {type: 'string'},
    architecture: {type: 'string', maxLength: 64},
    variant: {type: 'string', maxLength: 64},
    os: {type: 'string', maxLength: 64},
    config: RUN_CONFIG,
    rootfs: {
      type: 'object',
      required: ['type', 'diff_ids'],
      properties: {type: {const: 'layers'}, diff_ids: {type: 'array', maxItems: 500, items: DIGEST}},
    },
    history: {
      type: 'array',
      maxItems: 10000,
      items: {
        type: 'object',
        properties: {created: {type: 'string'}, created_by: {type: 'string'}, author: {type: 'string'}, comment: {type: 'string'}, empty_layer: {type: 'boolean'}},
      },
    },
  },
}

/** `docker save`'s manifest.json: one entry per image. */
export const DOCKER_ARCHIVE_MANIFEST_SCHEMA = {
  type: 'array',
  maxItems: 1000,
  items: {
    type: 'object',
    required: ['Config', 'Layers'],
    properties: {
      Config: {type: 'string', maxLength: 4096},
      RepoTags: {type: ['array', 'null'], items: {type: 'string', maxLength: 4096}},
      Layers: {type: 'array', maxItems: 500, items: {type: 'string', maxLength: 4096}},
    },
  },
}
