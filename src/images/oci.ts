/**
 * The OCI image format (and Docker's v2 schema 2, its twin): media types, the shapes of
 * manifests, indexes and configs, and the small rules lab applies to them.
 */
import {createHash} from 'node:crypto'

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** containerd's name for a zstd layer in a Docker manifest */
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const

export const MANIFEST_TYPES: readonly string[] = [MT.ociManifest, MT.dockerManifest]
export const INDEX_TYPES: readonly string[] = [MT.ociIndex, MT.dockerList]
export const LAYER_TYPES: readonly string[] = [MT.ociLayer, MT.ociLayerGzip, MT.ociLayerZstd, MT.dockerLayer, MT.dockerLayerGzip, MT.dockerLayerZstd]

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  platform?: Platform
}

export interface Platform {
  architecture: string
  os: string
  variant?: string
}

export interface Manifest {
  schemaVersion: 2
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
}

export interface RunConfig {
  User?: string
  ExposedPorts?: Record<string, object> | null
  Env?: string[] | null
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Volumes?: Record<string, object> | null
  WorkingDir?: string
  Labels?: Record<string, string> | null
  StopSignal?: string
}

export interface HistoryEntry {
  created?: string
  created_by?: string
  author?: string
  comment?: string
  empty_layer?: boolean
}

export interface ImageConfig {
  created?: string
  author?: string
  architecture: string
  variant?: string
  os: string
  config?: RunConfig
  rootfs: {type: 'layers'; diff_ids: string[]}
  history?: HistoryEntry[]
}

/** The machine's platform as OCI names it. */
export function hostPlatform(): Platform {
  const arch = ({x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'} as Record<string, string>)[process.arch] ?? process.arch
  return {os: 'linux', architecture: arch}
}

/** Whether a descriptor is a layer lab can unpack (its blob is sniffed again when read). */
export function isLayerType(mediaType: string): boolean {
  return LAYER_TYPES.includes(mediaType)
}

/** The media type of a layer's blob, in the manifest family given (zstd as containerd names it). */
export function layerMediaType(family: 'oci' | 'docker', compression: 'gzip' | 'zstd' | 'none'): string {
  if (family === 'docker') return compression === 'gzip' ? MT.dockerLayerGzip : compression === 'zstd' ? MT.dockerLayerZstd : MT.dockerLayer
  return compression === 'gzip' ? MT.ociLayerGzip : compression === 'zstd' ? MT.ociLayerZstd : MT.ociLayer
}

/** Canonical JSON bytes for a manifest or config lab writes itself. */
export function jsonBytes(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v))
}

/** The manifest lab writes for an image it made (import, an older docker save archive). */
export function manifestFor(family: 'oci' | 'docker', config: Buffer, layers: Array<{mediaType: string; digest: string; size: number}>): Manifest {
  return {
    schemaVersion: 2,
    mediaType: family === 'oci' ? MT.ociManifest : MT.dockerManifest,
    config: {mediaType: family === 'oci' ? MT.ociConfig : MT.dockerConfig, digest: `sha256:${createHash('sha256').update(config).digest('hex')}`, size: config.length},
    layers: layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size})),
  }
}
