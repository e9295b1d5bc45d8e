-- expect: forbidden
-- call: attack
-- why: loadfile compiles host files; the global is on the deny-list

function attack()
  return loadfile("/etc/passwd")
end
