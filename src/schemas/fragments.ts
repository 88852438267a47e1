/** JSON Schema pieces that several published schemas share. */

/** A path inside a lab, submission or workspace: relative, no "." or ".." or empty components, no NUL. */
export const RELATIVE_PATH = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^(?!/)(?!.*(^|/)\\.{1,2}(/|$))(?!.*//)[^\\u0000]+$',
} as const
