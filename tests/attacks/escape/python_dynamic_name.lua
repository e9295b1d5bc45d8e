-- expect: forbidden
-- call: attack
-- why: a name built at run time (`_ENV['py'..'thon']`) defeats any source scan; the lookup itself must be forbidden

function attack()
  local name = "py" .. "thon"
  return _ENV[name]
end
