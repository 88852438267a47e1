require('node:fs').appendFileSync(process.env.GITHUB_WORKSPACE + '/order.txt', 'pre-skipped\n')
