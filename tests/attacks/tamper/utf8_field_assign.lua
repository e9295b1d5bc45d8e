-- expect: forbidden
-- call: attack
-- why: assigning a non-function field of a library (utf8.charpattern) is refused too

function attack()
  utf8.charpattern = "."
end
