require('node:fs').appendFileSync(process.env.GITHUB_WORKSPACE + '/order.txt', 'main-local\n')
