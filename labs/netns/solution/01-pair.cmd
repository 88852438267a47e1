lab sandbox run --cap-add NET_ADMIN -- sh -c 'ip link add inside type veth peer name outside && ip -br link'
