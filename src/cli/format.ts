/**
 * --format templates, the way Docker uses Go templates, on handlebars: "{{.State.Status}}"
 * (the leading dot is optional), "{{json .}}", "{{json .Mounts}}", "{{upper .Name}}",
 * "{{join .Args ","}}". Output is never HTML-escaped. A bad template is a one-line error.
 */
import {usageError} from '../errors.js'

export async function renderFormat(template: string): Promise<(data: unknown) => string> {
  const {default: Handlebars} = await import('handlebars')
  const hb = Handlebars.create()
  hb.registerHelper('json', (v: unknown) => JSON.stringify(v))
  hb.registerHelper('upper', (v: unknown) => String(v).toUpperCase())
  hb.registerHelper('lower', (v: unknown) => String(v).toLowerCase())
  hb.registerHelper('join', (v: unknown, sep: unknown) => (Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ' ') : String(v)))
  // Go's ".X.Y" is handlebars' "X.Y"; a lone "." is "this".
  const hbs = template.replace(/\{\{(.*?)\}\}/gs, (_, inner: string) => '{{' + inner.replace(/(^|\s)\.(?=\s|$)/g, '$1this').replace(/(^|\s|\()\.(?=[A-Za-z_])/g, '$1') + '}}')
  let fn: (d: unknown) => string
  try {
    fn = hb.compile(hbs, {noEscape: true, strict: true})
    return (data) => {
      try {
        return fn(data)
      } catch (e) {
        throw usageError(`--format: ${(e as Error).message.split('\n')[0]}`, 'fields are like {{.State.Status}}, {{.Name}}, {{json .Config}}')
      }
    }
  } catch (e) {
    throw usageError(`--format: ${(e as Error).message.split('\n')[0]}`, 'fields are like {{.State.Status}}, {{.Name}}, {{json .Config}}')
  }
}

/** inspect's output: each item through the template, or all of them as indented JSON. */
export async function printInspected(log: (line: string) => void, items: unknown[], format: string | undefined): Promise<void> {
  if (format === undefined) return log(JSON.stringify(items, null, 2))
  const render = await renderFormat(format)
  for (const item of items) log(render(item))
}
