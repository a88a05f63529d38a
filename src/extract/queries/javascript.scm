; JavaScript (JSX included), after ecmascript.scm: functions held by class fields.

(field_definition
  value: [(arrow_function) (function_expression)] @function)
