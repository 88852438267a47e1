lab network create -o com.docker.network.bridge.enable_icc=false quiet
