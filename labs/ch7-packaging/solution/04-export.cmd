lab sandbox export -o hello-fs.tar exporter
