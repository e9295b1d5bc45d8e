-- expect: forbidden
-- call: attack
-- why: package.loaded holds every real library (io, os, debug); reading `package` is forbidden

function attack()
  return package.loaded.io
end
