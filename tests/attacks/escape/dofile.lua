-- expect: forbidden
-- call: attack
-- why: dofile reads and runs host files; the global is on the deny-list

function attack()
  return dofile("/etc/passwd")
end
