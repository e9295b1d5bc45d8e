-- expect: forbidden
-- call: attack
-- why: require would hand back the real io library; the global is on the deny-list

function attack()
  return require("io").open("/etc/passwd")
end
