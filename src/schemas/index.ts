/**
 * Every JSON Schema the project validates with. scripts/build.mjs compiles each to a
 * standalone validator module (dist/validators/NAME.js) so start-up never pays for
 * schema compilation, and publishes it as schemas/NAME.schema.json for editors.
 */
import {CI_SCHEMA} from '../ci/schema.js'
import {CI_POLICY_SCHEMA} from '../ci/policy.js'
import {GRADING_SCHEMA} from '../grading/schema.js'
import {DOCKER_ARCHIVE_MANIFEST_SCHEMA, IMAGE_CONFIG_SCHEMA, IMAGE_INDEX_SCHEMA, IMAGE_MANIFEST_SCHEMA} from '../images/schema.js'
import {LAB_SCHEMA} from '../labs/schema.js'
import {SANDBOX_SPEC_SCHEMA} from '../sandbox/spec.js'
import {SECCOMP_PROFILE_SCHEMA} from '../seccomp/schema.js'

export const SCHEMAS: Record<string, object> = {
  'sandbox-spec': SANDBOX_SPEC_SCHEMA,
  'seccomp-profile': SECCOMP_PROFILE_SCHEMA,
  lab: LAB_SCHEMA,
  grading: GRADING_SCHEMA,
  ci: CI_SCHEMA,
  'ci-policy': CI_POLICY_SCHEMA,
  'image-manifest': IMAGE_MANIFEST_SCHEMA,
  'image-index': IMAGE_INDEX_SCHEMA,
  'image-config': IMAGE_CONFIG_SCHEMA,
  'docker-archive-manifest': DOCKER_ARCHIVE_MANIFEST_SCHEMA,
}
