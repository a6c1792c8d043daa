module github.com/parleychat/parley/bench/peers

go 1.26.8

require github.com/coder/websocket v1.8.15
