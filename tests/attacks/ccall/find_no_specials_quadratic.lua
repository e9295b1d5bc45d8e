-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: the same quadratic search without `plain`: a pattern with no magic characters makes Lua switch to plain search itself

function attack()
  local hay = ("a"):rep(1 << 20)
  local needle = ("a"):rep(1 << 19) .. "b"  -- no quantifiers, yet quadratic
  return string.find(hay, needle)
end
